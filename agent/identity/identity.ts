import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { dataFiles } from '../platform/paths.ts';

/**
 * Who this agent is. The device id comes from the collector at enrollment and is stored here, never derived
 * from hardware, so a cloned disk image shows up as two devices claiming one id rather than silently merging.
 */
export const Identity = z.object({
  deviceId: z.string().min(1),
  token: z.string().min(16),
  collectorUrl: z.url(),
  site: z.object({ code: z.string(), name: z.string() }),
  enrolledAt: z.number().int(),
  /** The signing key the collector registered for this device (absent: not registered yet, docs/evidence.md). */
  keyId: z.string().optional(),
});
export type Identity = z.infer<typeof Identity>;

export class NotEnrolledError extends Error {
  constructor(dir: string) {
    super(`this agent is not enrolled (no identity in ${dir}): run 'songcheck-agent enroll --collector URL --code CODE'`);
  }
}

export function ensureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is ignored for an existing directory; the token must not be readable by other users.
  if (process.platform !== 'win32') chmodSync(dir, 0o700);
}

export function loadIdentity(dir: string): Identity {
  const file = dataFiles(dir).identity;
  if (!existsSync(file)) throw new NotEnrolledError(dir);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}): enroll again to replace it`);
  }
  const parsed = Identity.safeParse(raw);
  if (!parsed.success) throw new Error(`${file} is damaged (${z.prettifyError(parsed.error)}): enroll again to replace it`);
  return parsed.data;
}

export function saveIdentity(dir: string, identity: Identity): void {
  ensureDataDir(dir);
  writeFileAtomic(dataFiles(dir).identity, JSON.stringify(identity, null, 2) + '\n', 0o600);
}
