// The device's Ed25519 signing key (docs/evidence.md): created before enrollment, kept beside the identity
// in the data directory with the same permissions, and never sent anywhere. Only its public half is
// registered with the collector — at enrollment, or (agents enrolled before 0.2.0) once through the
// authenticated POST /api/v1/devices/key.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { ReceivedErrorBody } from '../../protocol/api.ts';
import { generateDeviceKey, KeyRegistrationResponse, keyIdOf, privateKeyFromPem, publicKeyText, type SignedResultEnvelope, signResult } from '../../protocol/evidence.ts';
import type { Result } from '../../protocol/results.ts';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { postJson, type PostJson } from '../net/http-client.ts';
import { ensureDataDir, type Identity, saveIdentity } from './identity.ts';

export const signingKeyFile = (dir: string) => join(dir, 'device-key.pem');

export interface DeviceSigningKey {
  privateKey: KeyObject;
  publicKey: string;
  keyId: string;
}

/** Reads the device key, creating it (0600) when there is none yet. */
export function loadOrCreateSigningKey(dir: string): DeviceSigningKey {
  const file = signingKeyFile(dir);
  if (!existsSync(file)) {
    ensureDataDir(dir);
    writeFileAtomic(file, generateDeviceKey().privateKeyPem, 0o600);
  }
  let privateKey: KeyObject;
  try {
    privateKey = privateKeyFromPem(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not a usable Ed25519 key (${(err as Error).message}): enroll again to replace it`);
  }
  const publicKey = publicKeyText(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/** Signs each result for the upload (canonical encoding, protocol/evidence.ts). */
export function signResults(deviceId: string, key: DeviceSigningKey, records: Result[]): SignedResultEnvelope[] {
  return records.map((r) => signResult(deviceId, r, key.privateKey, key.keyId));
}

export type KeyRegistration = { status: 'registered'; keyId: string } | { status: 'unsupported' } | { status: 'failed'; message: string };

/**
 * Registers the key of an already enrolled device and records its id in the identity. A collector that
 * predates signing answers 404: the agent then keeps delivering unsigned results (accepted from it).
 */
export async function registerSigningKey(dir: string, identity: Identity, key: DeviceSigningKey, collectorUrl = identity.collectorUrl, post: PostJson = postJson): Promise<KeyRegistration> {
  let res;
  try {
    res = await post(new URL('/api/v1/devices/key', collectorUrl), JSON.stringify({ publicKey: key.publicKey }), {
      headers: { authorization: `Bearer ${identity.token}` },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    return { status: 'failed', message: `collector unreachable: ${(err as Error).message}` };
  }
  if (res.status === 404) return { status: 'unsupported' };
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  const ok = KeyRegistrationResponse.safeParse(body);
  if (res.status === 200 && ok.success && ok.data.keyId === key.keyId) {
    saveIdentity(dir, { ...identity, keyId: key.keyId });
    return { status: 'registered', keyId: key.keyId };
  }
  const err = ReceivedErrorBody.safeParse(body);
  return { status: 'failed', message: err.success ? `${err.data.error.code}: ${err.data.error.message}` : `collector answered ${res.status}` };
}
