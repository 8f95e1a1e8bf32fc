// Enrollment codes and device tokens. Both are stored only as SHA-256 hashes: a copy of registry.sqlite
// must not let anyone enrol a device or impersonate one. Plain SHA-256 (no slow KDF) is enough because
// both are random and long enough that guessing is hopeless, unlike passwords.
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';

/** Crockford base32: no I, L, O, U, so a code read aloud over the phone or copied by hand survives. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 12; // 60 bits; codes also expire and have few uses.

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function sha256Hex(text: string): string {
  return sha256(text).toString('hex');
}

/** A new enrollment code such as `K7QM-3XTP-9HWD`. */
export function newEnrollmentCode(): string {
  let raw = '';
  for (let i = 0; i < CODE_LENGTH; i++) raw += ALPHABET[randomInt(ALPHABET.length)];
  return raw.match(/.{4}/g)!.join('-');
}

/**
 * Canonical form of a typed code: case, dashes and spaces ignored, and the letters people confuse
 * with digits (O, I, L) read as the digits they look like, as Crockford base32 specifies.
 */
export function normalizeEnrollmentCode(input: string): string {
  return input
    .toUpperCase()
    .replace(/[\s-]+/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
}

export function hashEnrollmentCode(input: string): string {
  return sha256Hex(normalizeEnrollmentCode(input));
}

/** 32 random bytes, base64url: 256 bits, safe in an HTTP header without quoting. */
export function newDeviceToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Public id of an enrollment code, to list and withdraw it without knowing the code. */
export function newCodeId(): string {
  return `ec_${randomBytes(8).toString('hex')}`;
}

export function newDeviceId(): string {
  return `dev_${randomUUID().replace(/-/g, '')}`;
}
