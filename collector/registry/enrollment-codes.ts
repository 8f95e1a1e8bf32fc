// Enrollment codes: created for a site (only their hash is stored), listed, withdrawn, and exchanged by an
// agent for a new device identity.
import { insertionOrder } from '../store/store.ts';
import { writeAudit } from './audit-log.ts';
import type { RegistryContext } from './context.ts';
import type { DeviceFacts } from './devices.ts';
import { EnrollmentError, RegistryError } from './errors.ts';
import { hashEnrollmentCode, newCodeId, newDeviceId, newDeviceToken, newEnrollmentCode, sha256Hex } from './secrets.ts';
import type { Site } from './site.ts';
import { siteIn } from './sites.ts';

const DAY_MS = 86_400_000;

export type EnrollmentCodeStatus = 'active' | 'expired' | 'used_up' | 'revoked';

/** An enrollment code as listed: never the code itself, which only its creator saw. */
export interface EnrollmentCodeInfo {
  id: string;
  siteCode: string;
  createdAt: number;
  expiresAt: number;
  usesTotal: number;
  usesLeft: number;
  revokedAt?: number;
  status: EnrollmentCodeStatus;
}

export interface NewEnrollmentCode {
  id: string;
  /** The plaintext code: shown once, only its hash is stored. */
  code: string;
  siteCode: string;
  expiresAt: number;
  uses: number;
}

interface CodeRow {
  id: string;
  site_code: string;
  created_at: number;
  expires_at: number;
  uses_total: number;
  uses_left: number;
  revoked_at: number | null;
}

function codeStatus(r: CodeRow, now: number): EnrollmentCodeStatus {
  if (r.revoked_at !== null) return 'revoked';
  if (r.expires_at <= now) return 'expired';
  if (r.uses_left <= 0) return 'used_up';
  return 'active';
}

/** Returns the plaintext code; only its hash is stored, so this is the one chance to read it. */
export async function createEnrollmentCode(ctx: RegistryContext, siteCode: string, opts: { ttlDays?: number; uses?: number }, actor: string): Promise<NewEnrollmentCode> {
  const ttlDays = opts.ttlDays ?? 30;
  const uses = opts.uses ?? 1;
  if (!(ttlDays > 0 && ttlDays <= 3650)) throw new RegistryError('invalid_argument', 'ttlDays must be between 0 and 3650');
  if (!(Number.isInteger(uses) && uses >= 1 && uses <= 10_000)) {
    throw new RegistryError('invalid_argument', 'uses must be an integer between 1 and 10000');
  }
  const code = newEnrollmentCode();
  const id = newCodeId();
  const createdAt = ctx.now();
  const expiresAt = createdAt + Math.round(ttlDays * DAY_MS);
  await ctx.db.transaction(async (tx) => {
    if (!(await siteIn(tx, siteCode))) throw new RegistryError('site_not_found', `no site with code ${siteCode}; add it first`);
    await tx.run('INSERT INTO enrollment_codes (code_hash, id, site_code, created_at, expires_at, uses_left, uses_total) VALUES (?, ?, ?, ?, ?, ?, ?)',
      hashEnrollmentCode(code), id, siteCode, createdAt, expiresAt, uses, uses);
    await writeAudit(tx, ctx.now(), actor, 'code.create', siteCode, { id, uses, expiresAt });
  });
  return { id, code, siteCode, expiresAt, uses };
}

export async function listEnrollmentCodes(ctx: RegistryContext, filter: { siteCode?: string; activeOnly?: boolean }): Promise<EnrollmentCodeInfo[]> {
  const rows = await ctx.db.all<CodeRow>(
    `SELECT id, site_code, created_at, expires_at, uses_total, uses_left, revoked_at FROM enrollment_codes
     WHERE (CAST(@site AS TEXT) IS NULL OR site_code = @site) ORDER BY site_code, created_at, ${insertionOrder(ctx.db, 'enrollment_codes')}`,
    { site: filter.siteCode ?? null },
  );
  const now = ctx.now();
  const list = rows.map((r): EnrollmentCodeInfo => {
    const info: EnrollmentCodeInfo = {
      id: r.id, siteCode: r.site_code, createdAt: r.created_at, expiresAt: r.expires_at, usesTotal: r.uses_total, usesLeft: r.uses_left,
      status: codeStatus(r, now),
    };
    if (r.revoked_at !== null) info.revokedAt = r.revoked_at;
    return info;
  });
  return filter.activeOnly ? list.filter((c) => c.status === 'active') : list;
}

/** Withdraws a code (a lost or leaked sheet); devices already enrolled with it are not affected. */
export async function revokeEnrollmentCode(ctx: RegistryContext, id: string, actor: string): Promise<boolean> {
  return ctx.db.transaction(async (tx) => {
    const row = await tx.get<{ site_code: string }>('SELECT site_code FROM enrollment_codes WHERE id = ?', id);
    if (!row) throw new RegistryError('code_not_found', `no enrollment code with id ${id}`);
    const changed = (await tx.run('UPDATE enrollment_codes SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', ctx.now(), id)).changes > 0;
    if (changed) await writeAudit(tx, ctx.now(), actor, 'code.revoke', row.site_code, { id });
    return changed;
  });
}

/**
 * Exchanges a code for a new device identity. Throws EnrollmentError with why the code was refused.
 * A device is always new: even a device whose hardware fingerprint is already known gets its own id
 * (a cloned disk image must not merge two schools' PCs); `duplicateOf` lists the active devices that
 * share the fingerprint, so the caller can flag it.
 */
export async function enroll(ctx: RegistryContext, code: string, facts: DeviceFacts): Promise<{ deviceId: string; token: string; site: Site; duplicateOf: string[] }> {
  const codeHash = hashEnrollmentCode(code);
  // A read first: unknown codes (typos, guesses) are refused without taking the write lock.
  if (!(await ctx.db.get('SELECT 1 AS one FROM enrollment_codes WHERE code_hash = ?', codeHash))) throw new EnrollmentError('invalid');
  // The write transaction is taken before reading uses_left, so two agents (or two collectors sharing
  // the database) racing for the last use cannot both win it.
  return ctx.db.transaction(async (tx) => {
    const row = await tx.get<{ id: string; site_code: string; expires_at: number; uses_left: number; revoked_at: number | null }>(
      'SELECT id, site_code, expires_at, uses_left, revoked_at FROM enrollment_codes WHERE code_hash = ?', codeHash);
    if (!row || row.revoked_at !== null) throw new EnrollmentError('invalid');
    const now = ctx.now();
    if (row.expires_at <= now) throw new EnrollmentError('expired');
    if (row.uses_left <= 0) throw new EnrollmentError('used_up');
    await tx.run('UPDATE enrollment_codes SET uses_left = uses_left - 1 WHERE code_hash = ?', codeHash);
    const deviceId = newDeviceId();
    const token = newDeviceToken();
    const duplicateOf = facts.fingerprint
      ? (await tx.all<{ id: string }>('SELECT id FROM devices WHERE fingerprint = ? AND revoked_at IS NULL ORDER BY enrolled_at', facts.fingerprint)).map((r) => r.id)
      : [];
    await tx.run(
      `INSERT INTO devices (id, site_code, token_hash, enrolled_at, last_seen_at, agent_version, platform, hostname, fingerprint)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      deviceId, row.site_code, sha256Hex(token), now, now, facts.agentVersion ?? null, facts.platform ?? null,
      facts.hostname ?? null, facts.fingerprint ?? null,
    );
    await writeAudit(tx, ctx.now(), 'agent', 'device.enroll', deviceId, { site: row.site_code, code: row.id, hostname: facts.hostname, ...(duplicateOf.length ? { duplicateOf } : {}) });
    return { deviceId, token, site: (await siteIn(tx, row.site_code))!, duplicateOf };
  });
}
