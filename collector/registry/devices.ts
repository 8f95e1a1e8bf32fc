// Devices in the store: who a bearer token belongs to, when a device was last heard from, and the admin's
// actions on devices (list, revoke, move). A revocation or move is announced on the change feed.
import { timingSafeEqual } from 'node:crypto';
import { insertionOrder, type SqlRunner, type Store } from '../store/store.ts';
import { DEVICE_CHANGES_CHANNEL, writeAudit } from './audit-log.ts';
import type { RegistryContext } from './context.ts';
import { RegistryError } from './errors.ts';
import { sha256 } from './secrets.ts';
import type { Site } from './site.ts';
import { siteIn } from './sites.ts';

export interface DeviceFacts {
  hostname?: string;
  platform?: string;
  agentVersion?: string;
  fingerprint?: string;
}

export interface Device {
  id: string;
  siteCode: string;
  enrolledAt: number;
  lastSeenAt?: number;
  agentVersion?: string;
  platform?: string;
  hostname?: string;
  fingerprint?: string;
  revokedAt?: number;
  revokedReason?: string;
}

/** A device as the admin API and CLI list it. */
export interface DeviceInfo extends Device {
  siteName: string;
  /** Another device that is not revoked presents the same hardware fingerprint (a cloned image, a reinstall). */
  duplicateFingerprint: boolean;
}

export interface AuthenticatedDevice {
  device: Device;
  site: Site;
}

interface DeviceRow {
  id: string;
  site_code: string;
  token_hash: string;
  enrolled_at: number;
  last_seen_at: number | null;
  agent_version: string | null;
  platform: string | null;
  hostname: string | null;
  fingerprint: string | null;
  revoked_at: number | null;
  revoked_reason: string | null;
}

function deviceFromRow(r: DeviceRow): Device {
  const d: Device = { id: r.id, siteCode: r.site_code, enrolledAt: r.enrolled_at };
  if (r.last_seen_at !== null) d.lastSeenAt = r.last_seen_at;
  if (r.agent_version !== null) d.agentVersion = r.agent_version;
  if (r.platform !== null) d.platform = r.platform;
  if (r.hostname !== null) d.hostname = r.hostname;
  if (r.fingerprint !== null) d.fingerprint = r.fingerprint;
  if (r.revoked_at !== null) d.revokedAt = r.revoked_at;
  if (r.revoked_reason !== null) d.revokedReason = r.revoked_reason;
  return d;
}

const DEVICE_INFO_SQL = `
  SELECT d.*, s.name AS site_name,
    (d.revoked_at IS NULL AND d.fingerprint IS NOT NULL AND EXISTS (
       SELECT 1 FROM devices o WHERE o.fingerprint = d.fingerprint AND o.id <> d.id AND o.revoked_at IS NULL)) AS duplicate
  FROM devices d JOIN sites s ON s.code = d.site_code`;

/** `duplicate` is 1/0 from SQLite, true/false from PostgreSQL. */
type DeviceInfoRow = DeviceRow & { site_name: string; duplicate: number | boolean };

function deviceInfoFromRow(r: DeviceInfoRow): DeviceInfo {
  return { ...deviceFromRow(r), siteName: r.site_name, duplicateFingerprint: r.duplicate === 1 || r.duplicate === true };
}

/**
 * The device and its site for a bearer token, or null for an unknown or revoked token. Nothing is
 * cached: a revocation or a move by any process counts from the next request.
 *
 * Timing: the row is found through the unique index on sha256(token). An attacker controls the token,
 * not its hash, so the time the index lookup takes tells nothing about how close a guess is to a real
 * token's bytes (learning a hash prefix needs a preimage). The constant-time compare of the stored and
 * computed hashes afterwards makes that independent of the database's comparison too.
 */
export async function authenticateDevice(db: SqlRunner, token: string): Promise<AuthenticatedDevice | null> {
  const hash = sha256(token);
  const row = await db.get<DeviceRow>('SELECT * FROM devices WHERE token_hash = ? AND revoked_at IS NULL', hash.toString('hex'));
  if (!row) return null;
  const stored = Buffer.from(row.token_hash, 'hex');
  if (stored.length !== hash.length || !timingSafeEqual(stored, hash)) return null;
  const site = await siteIn(db, row.site_code);
  return site ? { device: deviceFromRow(row), site } : null;
}

/** How stale a device's stored last-seen time may get; presence finer than this comes from heartbeats. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Writes when a device was last heard from, at most once a minute per device: each UPDATE is a commit (an
 * fsync in WAL mode).
 */
export class LastSeenWriter {
  private readonly lastTouched = new Map<string, { at: number; agentVersion?: string }>();

  async touch(db: SqlRunner, deviceId: string, lastSeenAt: number, agentVersion?: string): Promise<void> {
    const last = this.lastTouched.get(deviceId);
    if (last && lastSeenAt - last.at < TOUCH_INTERVAL_MS && (agentVersion === undefined || agentVersion === last.agentVersion)) return;
    this.lastTouched.set(deviceId, { at: lastSeenAt, agentVersion });
    await db.run(
      'UPDATE devices SET last_seen_at = CASE WHEN COALESCE(last_seen_at, 0) > @at THEN last_seen_at ELSE @at END, agent_version = COALESCE(@version, agent_version) WHERE id = @id',
      { at: lastSeenAt, version: agentVersion ?? null, id: deviceId },
    );
  }
}

/** Whether the device exists and is not revoked (a cheap check for long-lived connections). */
export async function isDeviceActive(db: SqlRunner, deviceId: string): Promise<boolean> {
  return (await db.get('SELECT 1 AS one FROM devices WHERE id = ? AND revoked_at IS NULL', deviceId)) !== undefined;
}

export async function getDevice(db: SqlRunner, id: string): Promise<DeviceInfo | undefined> {
  const row = await db.get<DeviceInfoRow>(`${DEVICE_INFO_SQL} WHERE d.id = ?`, id);
  return row ? deviceInfoFromRow(row) : undefined;
}

export async function listDevices(db: Store, filter: { siteCode?: string; includeRevoked?: boolean }): Promise<DeviceInfo[]> {
  const rows = await db.all<DeviceInfoRow>(
    `${DEVICE_INFO_SQL} WHERE (CAST(@site AS TEXT) IS NULL OR d.site_code = @site) AND (@all = 1 OR d.revoked_at IS NULL) ORDER BY d.site_code, d.enrolled_at, ${insertionOrder(db, 'd')}`,
    { site: filter.siteCode ?? null, all: filter.includeRevoked ? 1 : 0 },
  );
  return rows.map(deviceInfoFromRow);
}

/**
 * Revokes a device: its token is refused from the next request, and `revoked` is emitted so open
 * WebSockets close at once (in other collectors too: they are notified, and poll as the backstop).
 * Returns false when it was already revoked.
 */
export async function revokeDevice(ctx: RegistryContext, deviceId: string, opts: { reason?: string; actor?: string }): Promise<boolean> {
  const changed = await ctx.db.transaction(async (tx) => {
    if (!(await tx.get('SELECT 1 AS one FROM devices WHERE id = ?', deviceId))) throw new RegistryError('device_not_found', `no device with id ${deviceId}`);
    const n = (await tx.run('UPDATE devices SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL', ctx.now(), opts.reason ?? null, deviceId)).changes;
    if (n > 0) {
      ctx.feed.announce(await writeAudit(tx, ctx.now(), opts.actor ?? 'registry', 'device.revoke', deviceId, opts.reason ? { reason: opts.reason } : undefined));
      await tx.notify(DEVICE_CHANGES_CHANNEL);
    }
    return n > 0;
  });
  if (changed) ctx.feed.events.emit('revoked', deviceId);
  return changed;
}

/** Moves a device to another site: its future results carry the new site's tags; stored points keep theirs. */
export async function moveDevice(ctx: RegistryContext, deviceId: string, siteCode: string, actor: string): Promise<{ from: string; to: string; changed: boolean }> {
  const result = await ctx.db.transaction(async (tx) => {
    const row = await tx.get<{ site_code: string }>('SELECT site_code FROM devices WHERE id = ?', deviceId);
    if (!row) throw new RegistryError('device_not_found', `no device with id ${deviceId}`);
    if (!(await siteIn(tx, siteCode))) throw new RegistryError('site_not_found', `no site with code ${siteCode}`);
    if (row.site_code === siteCode) return { from: row.site_code, to: siteCode, changed: false };
    await tx.run('UPDATE devices SET site_code = ? WHERE id = ?', siteCode, deviceId);
    ctx.feed.announce(await writeAudit(tx, ctx.now(), actor, 'device.move', deviceId, { from: row.site_code, to: siteCode }));
    await tx.notify(DEVICE_CHANGES_CHANNEL);
    return { from: row.site_code, to: siteCode, changed: true };
  });
  if (result.changed) ctx.feed.events.emit('moved', { deviceId, from: result.from, to: result.to });
  return result;
}
