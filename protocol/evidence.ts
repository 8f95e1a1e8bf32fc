// Signed results: the canonical encoding, the signed message, the wire envelope and the evidence-log line
// (docs/evidence.md). Both sides import this; bin/songcheck-verify.mjs re-implements the same rules in
// plain JavaScript on purpose (it must run without this repository), so a change here is a change there.
//
//   payload   = canonicalJson({ device: deviceId, result })          (UTF-8)
//   message   = "songcheck-result-v1\n" ‖ payload                       (bytes)
//   signature = Ed25519(device private key, message)                  (64 bytes, base64url)
//   key id    = "ed25519:" + hex(sha256(raw 32-byte public key))[0..32]
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';

/** The first agent version that signs its results; older agents may deliver unsigned results (flagged). */
export const SIGNING_AGENT_VERSION = '0.2.0';

export const SIGNING_DOMAIN = 'songcheck-result-v1\n';

/** A signed result's payload is at most this long (a result is far smaller; this bounds hostile input). */
export const MAX_SIGNED_PAYLOAD = 16_384;

const B64URL = /^[A-Za-z0-9_-]+$/;

/** Raw Ed25519 public key, base64url without padding (43 characters) — the JWK `x` value. */
export const PublicKeyText = z.string().length(43).regex(B64URL, 'must be base64url');
export const KeyId = z.string().regex(/^ed25519:[0-9a-f]{32}$/, 'must be ed25519: and 32 hex digits');
export const SignatureText = z.string().length(86).regex(B64URL, 'must be base64url (64 bytes)');

/** One signed result in `results` of POST /measurements (instead of a bare result object). */
export const SignedResultEnvelope = z
  .object({
    /** canonicalJson({ device, result }): the exact bytes that were signed. */
    signed: z.string().min(2).max(MAX_SIGNED_PAYLOAD),
    sig: SignatureText,
    key: KeyId,
  })
  .strict();
export type SignedResultEnvelope = z.infer<typeof SignedResultEnvelope>;

/** POST /api/v1/devices/key: an already enrolled device registers its signing key (once). */
export const KeyRegistrationRequest = z.object({ publicKey: PublicKeyText }).strict();
export const KeyRegistrationResponse = z.object({ keyId: KeyId, registeredAt: z.number().int() });

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, strings and numbers exactly as
 * ECMAScript's JSON.stringify writes them (the same as RFC 8785 for the values a result holds). `undefined`
 * members are left out, as JSON.stringify does. Non-finite numbers cannot be encoded and throw.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('canonical JSON cannot hold a non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new Error(`canonical JSON cannot hold a ${typeof value}`);
}

export function signedPayload(deviceId: string, result: unknown): string {
  return canonicalJson({ device: deviceId, result });
}

export function signingMessage(payload: string): Buffer {
  return Buffer.from(SIGNING_DOMAIN + payload, 'utf8');
}

export function keyIdOf(publicKey: string): string {
  return `ed25519:${createHash('sha256').update(Buffer.from(publicKey, 'base64url')).digest('hex').slice(0, 32)}`;
}

export interface DeviceKeyPair {
  /** Raw public key, base64url (PublicKeyText). */
  publicKey: string;
  /** PKCS#8 PEM; stays on the device. */
  privateKeyPem: string;
}

export function generateDeviceKey(): DeviceKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey: publicKeyText(publicKey), privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

export function publicKeyText(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as { x?: string };
  if (!jwk.x) throw new Error('not an Ed25519 key');
  return jwk.x;
}

export function privateKeyFromPem(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the device key is ${key.asymmetricKeyType}, not ed25519`);
  return key;
}

export function publicKeyObject(publicKey: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
}

/** Signs one result as `deviceId`: the envelope the agent sends. */
export function signResult(deviceId: string, result: unknown, privateKey: KeyObject, keyId: string): SignedResultEnvelope {
  const payload = signedPayload(deviceId, result);
  return { signed: payload, sig: sign(null, signingMessage(payload), privateKey).toString('base64url'), key: keyId };
}

export function verifyPayload(payload: string, sig: string, publicKey: KeyObject): boolean {
  const signature = Buffer.from(sig, 'base64url');
  if (signature.length !== 64) return false;
  return verify(null, signingMessage(payload), publicKey, signature);
}

// ---- the evidence log (collector, docs/evidence.md "Log") ----

export const EVIDENCE_LOG_VERSION = 1;

/**
 * One line of a site's daily log file. Written with exactly this key order, one JSON object per line, `\n`
 * after each; the entry hash is sha256 of the line's bytes (without the `\n`) and the next line's `prev`.
 * `signed`/`sig`/`key` for a signed result (the bytes as received); `unsigned` (canonical JSON of the
 * result) plus `agentVersion` for a result from an agent older than SIGNING_AGENT_VERSION.
 */
export interface EvidenceLine {
  prev: string;
  seq: number;
  at: number;
  device: string;
  signed?: string;
  sig?: string;
  key?: string;
  unsigned?: string;
  agentVersion?: string;
  /** Fields the collector added to the stored point (the test server's state during a throughput test). */
  collector?: Record<string, string | number | boolean>;
}

export function encodeEvidenceLine(e: EvidenceLine): string {
  const ordered: EvidenceLine = { prev: e.prev, seq: e.seq, at: e.at, device: e.device };
  if (e.signed !== undefined) Object.assign(ordered, { signed: e.signed, sig: e.sig, key: e.key });
  else Object.assign(ordered, { unsigned: e.unsigned, ...(e.agentVersion !== undefined ? { agentVersion: e.agentVersion } : {}) });
  if (e.collector !== undefined) ordered.collector = e.collector;
  return JSON.stringify(ordered);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The `prev` of a site's very first entry. */
export function genesisHash(site: string): string {
  return sha256Hex(`songcheck-evidence-genesis\n${site}`);
}
