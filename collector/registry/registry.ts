// The site and device registry: who may send measurements, and which site's tags they carry.
// InfluxDB holds measurements only; this SQLite file holds identity only.
import { timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { openCollectorStore } from '../database.ts';
import type { Store } from '../store/store.ts';
import { formatIssuesLine } from '../validation.ts';
import { hashEnrollmentCode, newCodeId, newDeviceId, newDeviceToken, newEnrollmentCode, sha256, sha256Hex } from './secrets.ts';
import { type Site, SiteInput, SitePatch, type SiteRow, siteFromRow } from './site.ts';

const DAY_MS = 86_400_000;

export class RegistryError extends Error {
  constructor(
    readonly code: 'invalid_site' | 'site_exists' | 'site_not_found' | 'device_not_found' | 'code_not_found' | 'invalid_argument',
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export type EnrollmentFailure = 'invalid' | 'expired' | 'used_up';

export class EnrollmentError extends Error {
  constructor(readonly reason: EnrollmentFailure) {
    super(`enrollment code ${reason === 'invalid' ? 'unknown' : reason.replace('_', ' ')}`);
    this.name = 'EnrollmentError';
  }
}

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

export interface AuditEntry {
  id: number;
  at: number;
  /** Who did it: `cli`, `admin-api <request id>`, `agent`. */
  actor: string;
  action: string;
  subject: string;
  detail?: Record<string, unknown>;
}

export interface RegistryEvents {
  /** A device was revoked (here or, seen through watchChanges, by another process). */
  revoked: [deviceId: string];
  /** A device now belongs to another site. */
  moved: [change: { deviceId: string; from: string; to: string }];
}

export interface RegistryOptions {
  /** Wall clock in epoch ms; injectable so tests can move past an expiry. */
  now?: () => number;
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

interface CodeRow {
  id: string;
  site_code: string;
  created_at: number;
  expires_at: number;
  uses_total: number;
  uses_left: number;
  revoked_at: number | null;
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

function deviceInfoFromRow(r: DeviceRow & { site_name: string; duplicate: number }): DeviceInfo {
  return { ...deviceFromRow(r), siteName: r.site_name, duplicateFingerprint: r.duplicate === 1 };
}

/** A site's fields as SQL parameters: absent values as NULL, the group labels as JSON. */
function siteParams(v: Record<string, unknown>): Record<string, unknown> {
  const p: Record<string, unknown> = { groups: JSON.stringify(v.groups ?? []) };
  for (const key of ['name', 'commune', 'province', 'operator', 'linkType', 'latitude', 'longitude', 'students', 'profile', 'notes']) p[key] = v[key] ?? null;
  return p;
}

function codeStatus(r: CodeRow, now: number): EnrollmentCodeStatus {
  if (r.revoked_at !== null) return 'revoked';
  if (r.expires_at <= now) return 'expired';
  if (r.uses_left <= 0) return 'used_up';
  return 'active';
}

/** How stale a device's stored last-seen time may get; presence finer than this comes from heartbeats. */
const TOUCH_INTERVAL_MS = 60_000;

export class Registry {
  /** Revocations and moves, so open connections (WebSockets) can act on them at once. */
  readonly events = new EventEmitter<RegistryEvents>();
  private readonly now: () => number;
  // Compiling SQL costs more than running these lookups; every statement is compiled once per connection.
  // Each UPDATE is a commit (an fsync in WAL mode), so a device's last-seen time is written at most once a minute.
  private readonly lastTouched = new Map<string, { at: number; agentVersion?: string }>();
  // Audit rows this connection wrote and already announced; watchChanges skips them.
  private readonly announced = new Set<number>();
  private auditWatermark = 0;

  private readonly sql: Store['sql'];

  constructor(
    private readonly db: Store,
    options: RegistryOptions = {},
  ) {
    this.sql = (source) => db.sql(source);
    this.now = options.now ?? Date.now;
    // Many WebSocket servers may listen; one listener each is expected, more is not a leak.
    this.events.setMaxListeners(100);
    this.auditWatermark = (this.sql('SELECT COALESCE(MAX(id), 0) AS id FROM audit_log').get() as { id: number }).id;
  }

  static open(dataDir: string, options: RegistryOptions = {}): Registry {
    return new Registry(openCollectorStore(dataDir), options);
  }

  /** The store, for features that keep their own tables in the same database (collector/control/store.ts). */
  get store(): Store {
    return this.db;
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE): all of it happens, or none. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn);
  }

  private audit(actor: string, action: string, subject: string, detail?: Record<string, unknown>): number {
    const info = this.sql('INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)')
      .run(this.now(), actor, action, subject, detail === undefined ? null : JSON.stringify(detail));
    return Number(info.lastInsertRowid);
  }

  // ---- sites

  addSite(input: SiteInput, actor = 'registry'): Site {
    const parsed = SiteInput.safeParse(input);
    if (!parsed.success) throw new RegistryError('invalid_site', formatIssuesLine(parsed.error));
    const s = parsed.data;
    if (this.getSite(s.code)) throw new RegistryError('site_exists', `site ${s.code} already exists`);
    const now = this.now();
    this.sql(
        `INSERT INTO sites (code, name, commune, province, operator, link_type, latitude, longitude, students, "groups", profile, notes, created_at, updated_at)
         VALUES (@code, @name, @commune, @province, @operator, @linkType, @latitude, @longitude, @students, @groups, @profile, @notes, @now, @now)`,
      )
      .run({ ...siteParams({ ...s }), code: s.code, now });
    this.audit(actor, 'site.add', s.code);
    return this.getSite(s.code)!;
  }

  /**
   * Edits a site: fields left out stay, `null` clears. Returns the site and the names of the fields that
   * really changed (none: nothing is written). Future results carry the new tags; stored points keep theirs.
   */
  updateSite(code: string, patch: SitePatch, actor = 'registry'): { site: Site; changed: string[] } {
    const parsed = SitePatch.safeParse(patch);
    if (!parsed.success) throw new RegistryError('invalid_site', formatIssuesLine(parsed.error));
    const current = this.getSite(code);
    if (!current) throw new RegistryError('site_not_found', `no site with code ${code}`);
    const next: Record<string, unknown> = { ...current };
    for (const [key, value] of Object.entries(parsed.data)) {
      if (value === undefined) continue;
      if (value === null) delete next[key];
      else next[key] = value;
    }
    if ((next.latitude === undefined) !== (next.longitude === undefined)) {
      throw new RegistryError('invalid_site', 'latitude: latitude and longitude go together: give both or neither');
    }
    const changed = Object.keys(parsed.data).filter(
      (key) => parsed.data[key as keyof typeof parsed.data] !== undefined && JSON.stringify(next[key]) !== JSON.stringify((current as unknown as Record<string, unknown>)[key]),
    );
    if (changed.length === 0) return { site: current, changed };
    this.sql(
        `UPDATE sites SET name = @name, commune = @commune, province = @province, operator = @operator, link_type = @linkType,
           latitude = @latitude, longitude = @longitude, students = @students, "groups" = @groups, profile = @profile, notes = @notes,
           updated_at = @now
         WHERE code = @code`,
      )
      .run({ ...siteParams(next), code, now: this.now() });
    this.audit(actor, 'site.edit', code, { changed });
    return { site: this.getSite(code)!, changed };
  }

  getSite(code: string): Site | undefined {
    const row = this.sql('SELECT * FROM sites WHERE code = ?').get(code) as SiteRow | undefined;
    return row ? siteFromRow(row) : undefined;
  }

  listSites(): Site[] {
    return (this.sql('SELECT * FROM sites ORDER BY code').all() as SiteRow[]).map(siteFromRow);
  }

  // ---- enrollment codes

  /** Returns the plaintext code; only its hash is stored, so this is the one chance to read it. */
  createEnrollmentCode(siteCode: string, opts: { ttlDays?: number; uses?: number } = {}, actor = 'registry'): NewEnrollmentCode {
    const ttlDays = opts.ttlDays ?? 30;
    const uses = opts.uses ?? 1;
    if (!(ttlDays > 0 && ttlDays <= 3650)) throw new RegistryError('invalid_argument', 'ttlDays must be between 0 and 3650');
    if (!(Number.isInteger(uses) && uses >= 1 && uses <= 10_000)) {
      throw new RegistryError('invalid_argument', 'uses must be an integer between 1 and 10000');
    }
    if (!this.getSite(siteCode)) throw new RegistryError('site_not_found', `no site with code ${siteCode}; add it first`);
    const code = newEnrollmentCode();
    const id = newCodeId();
    const createdAt = this.now();
    const expiresAt = createdAt + Math.round(ttlDays * DAY_MS);
    this.sql('INSERT INTO enrollment_codes (code_hash, id, site_code, created_at, expires_at, uses_left, uses_total) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(hashEnrollmentCode(code), id, siteCode, createdAt, expiresAt, uses, uses);
    this.audit(actor, 'code.create', siteCode, { id, uses, expiresAt });
    return { id, code, siteCode, expiresAt, uses };
  }

  listEnrollmentCodes(filter: { siteCode?: string; activeOnly?: boolean } = {}): EnrollmentCodeInfo[] {
    const rows = this.sql(
        `SELECT id, site_code, created_at, expires_at, uses_total, uses_left, revoked_at FROM enrollment_codes
         WHERE (@site IS NULL OR site_code = @site) ORDER BY site_code, created_at`,
      )
      .all({ site: filter.siteCode ?? null }) as CodeRow[];
    const now = this.now();
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
  revokeEnrollmentCode(id: string, actor = 'registry'): boolean {
    const row = this.sql('SELECT site_code FROM enrollment_codes WHERE id = ?').get(id) as { site_code: string } | undefined;
    if (!row) throw new RegistryError('code_not_found', `no enrollment code with id ${id}`);
    const changed = this.sql('UPDATE enrollment_codes SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(this.now(), id).changes > 0;
    if (changed) this.audit(actor, 'code.revoke', row.site_code, { id });
    return changed;
  }

  /**
   * Exchanges a code for a new device identity. Throws EnrollmentError with why the code was refused.
   * A device is always new: even a device whose hardware fingerprint is already known gets its own id
   * (a cloned disk image must not merge two schools' PCs); `duplicateOf` lists the active devices that
   * share the fingerprint, so the caller can flag it.
   */
  enroll(code: string, facts: DeviceFacts = {}): { deviceId: string; token: string; site: Site; duplicateOf: string[] } {
    const codeHash = hashEnrollmentCode(code);
    // A read first: unknown codes (typos, guesses) are refused without taking the write lock.
    if (!this.sql('SELECT 1 FROM enrollment_codes WHERE code_hash = ?').get(codeHash)) throw new EnrollmentError('invalid');
    // IMMEDIATE takes the write lock before reading uses_left, so two agents (or two collectors sharing
    // the file) racing for the last use cannot both win it.
    return this.transaction(() => {
      const row = this.sql('SELECT id, site_code, expires_at, uses_left, revoked_at FROM enrollment_codes WHERE code_hash = ?')
        .get(codeHash) as { id: string; site_code: string; expires_at: number; uses_left: number; revoked_at: number | null } | undefined;
      if (!row || row.revoked_at !== null) throw new EnrollmentError('invalid');
      const now = this.now();
      if (row.expires_at <= now) throw new EnrollmentError('expired');
      if (row.uses_left <= 0) throw new EnrollmentError('used_up');
      this.sql('UPDATE enrollment_codes SET uses_left = uses_left - 1 WHERE code_hash = ?').run(codeHash);
      const deviceId = newDeviceId();
      const token = newDeviceToken();
      const duplicateOf = facts.fingerprint
        ? (this.sql('SELECT id FROM devices WHERE fingerprint = ? AND revoked_at IS NULL ORDER BY enrolled_at').all(facts.fingerprint) as { id: string }[]).map((r) => r.id)
        : [];
      this.sql(
          `INSERT INTO devices (id, site_code, token_hash, enrolled_at, last_seen_at, agent_version, platform, hostname, fingerprint)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(deviceId, row.site_code, sha256Hex(token), now, now, facts.agentVersion ?? null, facts.platform ?? null,
          facts.hostname ?? null, facts.fingerprint ?? null);
      this.audit('agent', 'device.enroll', deviceId, { site: row.site_code, code: row.id, hostname: facts.hostname, ...(duplicateOf.length ? { duplicateOf } : {}) });
      return { deviceId, token, site: this.getSite(row.site_code)!, duplicateOf };
    });
  }

  // ---- devices

  /**
   * The device and its site for a bearer token, or null for an unknown or revoked token. Nothing is
   * cached: a revocation or a move by any process counts from the next request.
   *
   * Timing: the row is found through the unique index on sha256(token). An attacker controls the token,
   * not its hash, so the time the index lookup takes tells nothing about how close a guess is to a real
   * token's bytes (learning a hash prefix needs a preimage). The constant-time compare of the stored and
   * computed hashes afterwards makes that independent of SQLite's comparison too.
   */
  authenticateDevice(token: string): AuthenticatedDevice | null {
    const hash = sha256(token);
    const row = this.sql('SELECT * FROM devices WHERE token_hash = ? AND revoked_at IS NULL').get(hash.toString('hex')) as DeviceRow | undefined;
    if (!row) return null;
    const stored = Buffer.from(row.token_hash, 'hex');
    if (stored.length !== hash.length || !timingSafeEqual(stored, hash)) return null;
    const site = this.getSite(row.site_code);
    return site ? { device: deviceFromRow(row), site } : null;
  }

  touchDevice(deviceId: string, lastSeenAt: number, agentVersion?: string): void {
    const last = this.lastTouched.get(deviceId);
    if (last && lastSeenAt - last.at < TOUCH_INTERVAL_MS && (agentVersion === undefined || agentVersion === last.agentVersion)) return;
    this.lastTouched.set(deviceId, { at: lastSeenAt, agentVersion });
    this.sql('UPDATE devices SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?), agent_version = COALESCE(?, agent_version) WHERE id = ?')
      .run(lastSeenAt, agentVersion ?? null, deviceId);
  }

  /** Whether the device exists and is not revoked (a cheap check for long-lived connections). */
  isDeviceActive(deviceId: string): boolean {
    return this.sql('SELECT 1 FROM devices WHERE id = ? AND revoked_at IS NULL').get(deviceId) !== undefined;
  }

  getDevice(id: string): DeviceInfo | undefined {
    const row = this.sql(`${DEVICE_INFO_SQL} WHERE d.id = ?`).get(id) as (DeviceRow & { site_name: string; duplicate: number }) | undefined;
    return row ? deviceInfoFromRow(row) : undefined;
  }

  listDevices(filter: { siteCode?: string; includeRevoked?: boolean } = {}): DeviceInfo[] {
    const rows = this.sql(`${DEVICE_INFO_SQL} WHERE (@site IS NULL OR d.site_code = @site) AND (@all = 1 OR d.revoked_at IS NULL) ORDER BY d.site_code, d.enrolled_at, d.rowid`)
      .all({ site: filter.siteCode ?? null, all: filter.includeRevoked ? 1 : 0 }) as (DeviceRow & { site_name: string; duplicate: number })[];
    return rows.map(deviceInfoFromRow);
  }

  /**
   * Revokes a device: its token is refused from the next request, and `revoked` is emitted so open
   * WebSockets close at once. Returns false when it was already revoked.
   */
  revokeDevice(deviceId: string, opts: { reason?: string; actor?: string } = {}): boolean {
    const changed = this.transaction(() => {
      if (!this.sql('SELECT 1 FROM devices WHERE id = ?').get(deviceId)) throw new RegistryError('device_not_found', `no device with id ${deviceId}`);
      const n = this.sql('UPDATE devices SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL')
        .run(this.now(), opts.reason ?? null, deviceId).changes;
      if (n > 0) this.announced.add(this.audit(opts.actor ?? 'registry', 'device.revoke', deviceId, opts.reason ? { reason: opts.reason } : undefined));
      return n > 0;
    });
    if (changed) this.events.emit('revoked', deviceId);
    return changed;
  }

  /** Moves a device to another site: its future results carry the new site's tags; stored points keep theirs. */
  moveDevice(deviceId: string, siteCode: string, actor = 'registry'): { from: string; to: string; changed: boolean } {
    const result = this.transaction(() => {
      const row = this.sql('SELECT site_code FROM devices WHERE id = ?').get(deviceId) as { site_code: string } | undefined;
      if (!row) throw new RegistryError('device_not_found', `no device with id ${deviceId}`);
      if (!this.getSite(siteCode)) throw new RegistryError('site_not_found', `no site with code ${siteCode}`);
      if (row.site_code === siteCode) return { from: row.site_code, to: siteCode, changed: false };
      this.sql('UPDATE devices SET site_code = ? WHERE id = ?').run(siteCode, deviceId);
      this.announced.add(this.audit(actor, 'device.move', deviceId, { from: row.site_code, to: siteCode }));
      return { from: row.site_code, to: siteCode, changed: true };
    });
    if (result.changed) this.events.emit('moved', { deviceId, from: result.from, to: result.to });
    return result;
  }

  // ---- audit log and change feed

  /** Records a change made outside the registry's own tables (the console's alert acknowledgements, sign-ins). */
  recordAudit(actor: string, action: string, subject: string, detail?: Record<string, unknown>): void {
    this.audit(actor, action, subject, detail);
  }


  auditLog(filter: { subject?: string; limit?: number } = {}): AuditEntry[] {
    const rows = this.sql('SELECT * FROM audit_log WHERE (@subject IS NULL OR subject = @subject) ORDER BY id DESC LIMIT @limit')
      .all({ subject: filter.subject ?? null, limit: Math.min(Math.max(1, filter.limit ?? 100), 10_000) }) as {
      id: number; at: number; actor: string; action: string; subject: string; detail: string | null;
    }[];
    return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, subject: r.subject, ...(r.detail ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}) }));
  }

  /**
   * Emits `revoked` and `moved` for changes made by other connections to the same file (the CLI, other
   * collector processes), by reading new audit_log rows. Changes made through this object are emitted at
   * once and not again. Call it every second or so; it costs one indexed query.
   */
  pollChanges(): void {
    // One statement, one snapshot: the rows and the new watermark (the newest id) are read together. Read
    // apart, a revocation committed by another process between the two reads was skipped for good.
    const rows = this.sql(
      `SELECT id, action, subject, detail FROM audit_log WHERE id > ?
         AND (action IN ('device.revoke', 'device.move') OR id = (SELECT MAX(id) FROM audit_log)) ORDER BY id`,
    ).all(this.auditWatermark) as { id: number; action: string; subject: string; detail: string | null }[];
    const max = rows.length > 0 ? rows[rows.length - 1]!.id : this.auditWatermark;
    for (const row of rows) {
      if (row.action !== 'device.revoke' && row.action !== 'device.move') continue;
      if (this.announced.delete(row.id)) continue;
      if (row.action === 'device.revoke') this.events.emit('revoked', row.subject);
      else {
        const detail = JSON.parse(row.detail ?? '{}') as { from: string; to: string };
        this.events.emit('moved', { deviceId: row.subject, from: detail.from, to: detail.to });
      }
    }
    for (const id of this.announced) if (id <= max) this.announced.delete(id);
    this.auditWatermark = Math.max(this.auditWatermark, max);
  }

  /** Calls pollChanges every `intervalMs` until the returned function is called. */
  watchChanges(intervalMs = 1000): () => void {
    const timer = setInterval(() => {
      if (this.db.isOpen) this.pollChanges();
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  counts(): { sites: number; devices: number } {
    const sites = (this.sql('SELECT COUNT(*) AS n FROM sites').get() as { n: number }).n;
    const devices = (this.sql('SELECT COUNT(*) AS n FROM devices WHERE revoked_at IS NULL').get() as { n: number }).n;
    return { sites, devices };
  }
}
