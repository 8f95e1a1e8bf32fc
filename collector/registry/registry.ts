// The site and device registry: who may send measurements, and which site's tags they carry.
// InfluxDB holds measurements only; the store (SQLite, or PostgreSQL shared by several collectors) holds
// identity only.
import { timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { openCollectorStore } from '../database.ts';
import { insertionOrder, type SqlRunner, type Store, storeInTransaction } from '../store/store.ts';
import { formatIssuesLine } from '../validation.ts';
import { hashEnrollmentCode, newCodeId, newDeviceId, newDeviceToken, newEnrollmentCode, sha256, sha256Hex } from './secrets.ts';
import { type Site, SiteInput, SitePatch, type SiteRow, siteFromRow } from './site.ts';

const DAY_MS = 86_400_000;
/**
 * How far behind the newest audit id the change feed keeps looking (ids of rows already announced are
 * remembered until they fall below it): PostgreSQL makes rows visible in commit order, not id order.
 */
const AUDIT_REORDER_WINDOW = 50;

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

/** `duplicate` is 1/0 from SQLite, true/false from PostgreSQL. */
type DeviceInfoRow = DeviceRow & { site_name: string; duplicate: number | boolean };

function deviceInfoFromRow(r: DeviceInfoRow): DeviceInfo {
  return { ...deviceFromRow(r), siteName: r.site_name, duplicateFingerprint: r.duplicate === 1 || r.duplicate === true };
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

/** The channel on which revocations and moves are announced to other collectors (PostgreSQL NOTIFY). */
export const DEVICE_CHANGES_CHANNEL = 'device_changes';

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

  private constructor(
    private readonly db: Store,
    options: RegistryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    // Many WebSocket servers may listen; one listener each is expected, more is not a leak.
    this.events.setMaxListeners(100);
  }

  /** A registry on an open store (its tables migrated: collector/database.ts). */
  static async on(store: Store, options: RegistryOptions = {}): Promise<Registry> {
    const registry = new Registry(store, options);
    registry.auditWatermark = (await store.get<{ id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM audit_log'))!.id;
    return registry;
  }

  /** Opens the registry of `dataDir`'s deployment (SQLite file there, or SONGCHECK_DATABASE_URL). */
  static async open(dataDir: string, options: RegistryOptions = {}): Promise<Registry> {
    const store = await openCollectorStore(dataDir);
    try {
      return await Registry.on(store, options);
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  /** The store, for features that keep their own tables in the same database (collector/control/store.ts). */
  get store(): Store {
    return this.db;
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /**
   * Runs `fn` in one write transaction: all of it happens, or none. `fn` gets this registry bound to the
   * transaction (its methods, and `store` for other features' tables, run inside it); events of what it
   * did are emitted before the commit.
   */
  transaction<T>(fn: (registry: Registry) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => {
      const bound = Object.create(this) as Registry;
      Object.defineProperty(bound, 'db', { value: storeInTransaction(this.db, tx) });
      return fn(bound);
    });
  }

  private async audit(db: SqlRunner, actor: string, action: string, subject: string, detail?: Record<string, unknown>): Promise<number> {
    const row = await db.get<{ id: number }>('INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?) RETURNING id',
      this.now(), actor, action, subject, detail === undefined ? null : JSON.stringify(detail));
    return row!.id;
  }

  /** Records a change made outside the registry's own tables (the console's alert acknowledgements, sign-ins). */
  async recordAudit(actor: string, action: string, subject: string, detail?: Record<string, unknown>): Promise<void> {
    await this.audit(this.db, actor, action, subject, detail);
  }

  // ---- sites

  async addSite(input: SiteInput, actor = 'registry'): Promise<Site> {
    const parsed = SiteInput.safeParse(input);
    if (!parsed.success) throw new RegistryError('invalid_site', formatIssuesLine(parsed.error));
    const s = parsed.data;
    const now = this.now();
    return this.db.transaction(async (tx) => {
      if (await this.siteIn(tx, s.code)) throw new RegistryError('site_exists', `site ${s.code} already exists`);
      await tx.run(
        `INSERT INTO sites (code, name, commune, province, operator, link_type, latitude, longitude, students, "groups", profile, notes, created_at, updated_at)
         VALUES (@code, @name, @commune, @province, @operator, @linkType, @latitude, @longitude, @students, @groups, @profile, @notes, @now, @now)`,
        { ...siteParams({ ...s }), code: s.code, now },
      );
      await this.audit(tx, actor, 'site.add', s.code);
      return (await this.siteIn(tx, s.code))!;
    });
  }

  /**
   * Edits a site: fields left out stay, `null` clears. Returns the site and the names of the fields that
   * really changed (none: nothing is written). Future results carry the new tags; stored points keep theirs.
   */
  async updateSite(code: string, patch: SitePatch, actor = 'registry'): Promise<{ site: Site; changed: string[] }> {
    const parsed = SitePatch.safeParse(patch);
    if (!parsed.success) throw new RegistryError('invalid_site', formatIssuesLine(parsed.error));
    return this.db.transaction(async (tx) => {
      const current = await this.siteIn(tx, code);
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
      await tx.run(
        `UPDATE sites SET name = @name, commune = @commune, province = @province, operator = @operator, link_type = @linkType,
           latitude = @latitude, longitude = @longitude, students = @students, "groups" = @groups, profile = @profile, notes = @notes,
           updated_at = @now
         WHERE code = @code`,
        { ...siteParams(next), code, now: this.now() },
      );
      await this.audit(tx, actor, 'site.edit', code, { changed });
      return { site: (await this.siteIn(tx, code))!, changed };
    });
  }

  private async siteIn(db: SqlRunner, code: string): Promise<Site | undefined> {
    const row = await db.get<SiteRow>('SELECT * FROM sites WHERE code = ?', code);
    return row ? siteFromRow(row) : undefined;
  }

  getSite(code: string): Promise<Site | undefined> {
    return this.siteIn(this.db, code);
  }

  async listSites(): Promise<Site[]> {
    return (await this.db.all<SiteRow>('SELECT * FROM sites ORDER BY code')).map(siteFromRow);
  }

  // ---- enrollment codes

  /** Returns the plaintext code; only its hash is stored, so this is the one chance to read it. */
  async createEnrollmentCode(siteCode: string, opts: { ttlDays?: number; uses?: number } = {}, actor = 'registry'): Promise<NewEnrollmentCode> {
    const ttlDays = opts.ttlDays ?? 30;
    const uses = opts.uses ?? 1;
    if (!(ttlDays > 0 && ttlDays <= 3650)) throw new RegistryError('invalid_argument', 'ttlDays must be between 0 and 3650');
    if (!(Number.isInteger(uses) && uses >= 1 && uses <= 10_000)) {
      throw new RegistryError('invalid_argument', 'uses must be an integer between 1 and 10000');
    }
    const code = newEnrollmentCode();
    const id = newCodeId();
    const createdAt = this.now();
    const expiresAt = createdAt + Math.round(ttlDays * DAY_MS);
    await this.db.transaction(async (tx) => {
      if (!(await this.siteIn(tx, siteCode))) throw new RegistryError('site_not_found', `no site with code ${siteCode}; add it first`);
      await tx.run('INSERT INTO enrollment_codes (code_hash, id, site_code, created_at, expires_at, uses_left, uses_total) VALUES (?, ?, ?, ?, ?, ?, ?)',
        hashEnrollmentCode(code), id, siteCode, createdAt, expiresAt, uses, uses);
      await this.audit(tx, actor, 'code.create', siteCode, { id, uses, expiresAt });
    });
    return { id, code, siteCode, expiresAt, uses };
  }

  async listEnrollmentCodes(filter: { siteCode?: string; activeOnly?: boolean } = {}): Promise<EnrollmentCodeInfo[]> {
    const rows = await this.db.all<CodeRow>(
      `SELECT id, site_code, created_at, expires_at, uses_total, uses_left, revoked_at FROM enrollment_codes
       WHERE (CAST(@site AS TEXT) IS NULL OR site_code = @site) ORDER BY site_code, created_at, ${insertionOrder(this.db, 'enrollment_codes')}`,
      { site: filter.siteCode ?? null },
    );
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
  async revokeEnrollmentCode(id: string, actor = 'registry'): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const row = await tx.get<{ site_code: string }>('SELECT site_code FROM enrollment_codes WHERE id = ?', id);
      if (!row) throw new RegistryError('code_not_found', `no enrollment code with id ${id}`);
      const changed = (await tx.run('UPDATE enrollment_codes SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', this.now(), id)).changes > 0;
      if (changed) await this.audit(tx, actor, 'code.revoke', row.site_code, { id });
      return changed;
    });
  }

  /**
   * Exchanges a code for a new device identity. Throws EnrollmentError with why the code was refused.
   * A device is always new: even a device whose hardware fingerprint is already known gets its own id
   * (a cloned disk image must not merge two schools' PCs); `duplicateOf` lists the active devices that
   * share the fingerprint, so the caller can flag it.
   */
  async enroll(code: string, facts: DeviceFacts = {}): Promise<{ deviceId: string; token: string; site: Site; duplicateOf: string[] }> {
    const codeHash = hashEnrollmentCode(code);
    // A read first: unknown codes (typos, guesses) are refused without taking the write lock.
    if (!(await this.db.get('SELECT 1 AS one FROM enrollment_codes WHERE code_hash = ?', codeHash))) throw new EnrollmentError('invalid');
    // The write transaction is taken before reading uses_left, so two agents (or two collectors sharing
    // the database) racing for the last use cannot both win it.
    return this.db.transaction(async (tx) => {
      const row = await tx.get<{ id: string; site_code: string; expires_at: number; uses_left: number; revoked_at: number | null }>(
        'SELECT id, site_code, expires_at, uses_left, revoked_at FROM enrollment_codes WHERE code_hash = ?', codeHash);
      if (!row || row.revoked_at !== null) throw new EnrollmentError('invalid');
      const now = this.now();
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
      await this.audit(tx, 'agent', 'device.enroll', deviceId, { site: row.site_code, code: row.id, hostname: facts.hostname, ...(duplicateOf.length ? { duplicateOf } : {}) });
      return { deviceId, token, site: (await this.siteIn(tx, row.site_code))!, duplicateOf };
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
   * computed hashes afterwards makes that independent of the database's comparison too.
   */
  async authenticateDevice(token: string): Promise<AuthenticatedDevice | null> {
    const hash = sha256(token);
    const row = await this.db.get<DeviceRow>('SELECT * FROM devices WHERE token_hash = ? AND revoked_at IS NULL', hash.toString('hex'));
    if (!row) return null;
    const stored = Buffer.from(row.token_hash, 'hex');
    if (stored.length !== hash.length || !timingSafeEqual(stored, hash)) return null;
    const site = await this.getSite(row.site_code);
    return site ? { device: deviceFromRow(row), site } : null;
  }

  /** Records when a device was last heard from (at most once a minute per device: each write is a commit). */
  async touchDevice(deviceId: string, lastSeenAt: number, agentVersion?: string): Promise<void> {
    const last = this.lastTouched.get(deviceId);
    if (last && lastSeenAt - last.at < TOUCH_INTERVAL_MS && (agentVersion === undefined || agentVersion === last.agentVersion)) return;
    this.lastTouched.set(deviceId, { at: lastSeenAt, agentVersion });
    await this.db.run(
      'UPDATE devices SET last_seen_at = CASE WHEN COALESCE(last_seen_at, 0) > @at THEN last_seen_at ELSE @at END, agent_version = COALESCE(@version, agent_version) WHERE id = @id',
      { at: lastSeenAt, version: agentVersion ?? null, id: deviceId },
    );
  }

  /** Whether the device exists and is not revoked (a cheap check for long-lived connections). */
  async isDeviceActive(deviceId: string): Promise<boolean> {
    return (await this.db.get('SELECT 1 AS one FROM devices WHERE id = ? AND revoked_at IS NULL', deviceId)) !== undefined;
  }

  async getDevice(id: string): Promise<DeviceInfo | undefined> {
    const row = await this.db.get<DeviceInfoRow>(`${DEVICE_INFO_SQL} WHERE d.id = ?`, id);
    return row ? deviceInfoFromRow(row) : undefined;
  }

  async listDevices(filter: { siteCode?: string; includeRevoked?: boolean } = {}): Promise<DeviceInfo[]> {
    const rows = await this.db.all<DeviceInfoRow>(
      `${DEVICE_INFO_SQL} WHERE (CAST(@site AS TEXT) IS NULL OR d.site_code = @site) AND (@all = 1 OR d.revoked_at IS NULL) ORDER BY d.site_code, d.enrolled_at, ${insertionOrder(this.db, 'd')}`,
      { site: filter.siteCode ?? null, all: filter.includeRevoked ? 1 : 0 },
    );
    return rows.map(deviceInfoFromRow);
  }

  /**
   * Revokes a device: its token is refused from the next request, and `revoked` is emitted so open
   * WebSockets close at once (in other collectors too: they are notified, and poll as the backstop).
   * Returns false when it was already revoked.
   */
  async revokeDevice(deviceId: string, opts: { reason?: string; actor?: string } = {}): Promise<boolean> {
    const changed = await this.db.transaction(async (tx) => {
      if (!(await tx.get('SELECT 1 AS one FROM devices WHERE id = ?', deviceId))) throw new RegistryError('device_not_found', `no device with id ${deviceId}`);
      const n = (await tx.run('UPDATE devices SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL', this.now(), opts.reason ?? null, deviceId)).changes;
      if (n > 0) {
        this.announced.add(await this.audit(tx, opts.actor ?? 'registry', 'device.revoke', deviceId, opts.reason ? { reason: opts.reason } : undefined));
        await tx.notify(DEVICE_CHANGES_CHANNEL);
      }
      return n > 0;
    });
    if (changed) this.events.emit('revoked', deviceId);
    return changed;
  }

  /** Moves a device to another site: its future results carry the new site's tags; stored points keep theirs. */
  async moveDevice(deviceId: string, siteCode: string, actor = 'registry'): Promise<{ from: string; to: string; changed: boolean }> {
    const result = await this.db.transaction(async (tx) => {
      const row = await tx.get<{ site_code: string }>('SELECT site_code FROM devices WHERE id = ?', deviceId);
      if (!row) throw new RegistryError('device_not_found', `no device with id ${deviceId}`);
      if (!(await this.siteIn(tx, siteCode))) throw new RegistryError('site_not_found', `no site with code ${siteCode}`);
      if (row.site_code === siteCode) return { from: row.site_code, to: siteCode, changed: false };
      await tx.run('UPDATE devices SET site_code = ? WHERE id = ?', siteCode, deviceId);
      this.announced.add(await this.audit(tx, actor, 'device.move', deviceId, { from: row.site_code, to: siteCode }));
      await tx.notify(DEVICE_CHANGES_CHANNEL);
      return { from: row.site_code, to: siteCode, changed: true };
    });
    if (result.changed) this.events.emit('moved', { deviceId, from: result.from, to: result.to });
    return result;
  }

  // ---- audit log and change feed

  async auditLog(filter: { subject?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    const rows = await this.db.all<{ id: number; at: number; actor: string; action: string; subject: string; detail: string | null }>(
      'SELECT * FROM audit_log WHERE (CAST(@subject AS TEXT) IS NULL OR subject = @subject) ORDER BY id DESC LIMIT @limit',
      { subject: filter.subject ?? null, limit: Math.min(Math.max(1, filter.limit ?? 100), 10_000) },
    );
    return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, subject: r.subject, ...(r.detail ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}) }));
  }

  /**
   * Emits `revoked` and `moved` for changes made by other connections to the same database (the CLI, other
   * collector processes or machines), by reading new audit_log rows. Changes made through this object are
   * emitted at once and not again. It costs one indexed query.
   */
  async pollChanges(): Promise<void> {
    // On PostgreSQL, ids are handed out at INSERT but become visible at COMMIT, possibly out of order: a
    // transaction that took id 41 may commit after one that took 42. Reading only up to the oldest id that
    // may still be in flight would need pg_snapshot; instead the watermark trails by a few ids and the
    // rows already announced are remembered.
    const rows = await this.db.all<{ id: number; action: string; subject: string; detail: string | null }>(
      `SELECT id, action, subject, detail FROM audit_log WHERE id > ? AND action IN ('device.revoke', 'device.move') ORDER BY id`,
      this.auditWatermark,
    );
    const max = (await this.db.get<{ id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM audit_log'))!.id;
    for (const row of rows) {
      if (this.announced.has(row.id)) continue;
      this.announced.add(row.id);
      if (row.action === 'device.revoke') this.events.emit('revoked', row.subject);
      else {
        const detail = JSON.parse(row.detail ?? '{}') as { from: string; to: string };
        this.events.emit('moved', { deviceId: row.subject, from: detail.from, to: detail.to });
      }
    }
    const watermark = Math.max(this.auditWatermark, max - AUDIT_REORDER_WINDOW);
    for (const id of this.announced) if (id <= watermark) this.announced.delete(id);
    this.auditWatermark = watermark;
  }

  /**
   * Calls pollChanges every `intervalMs`, and at once when another collector announces a change
   * (PostgreSQL NOTIFY), until the returned function is called.
   */
  watchChanges(intervalMs = 1000, onError: (err: unknown) => void = () => {}): () => void {
    let running = false;
    let again = false;
    const poll = (): void => {
      if (running) {
        again = true;
        return;
      }
      if (!this.db.isOpen) return;
      running = true;
      this.pollChanges()
        .catch(onError)
        .finally(() => {
          running = false;
          if (again) {
            again = false;
            poll();
          }
        });
    };
    const timer = setInterval(poll, intervalMs);
    timer.unref();
    const unlisten = this.db.listen(DEVICE_CHANGES_CHANNEL, poll);
    return () => {
      clearInterval(timer);
      unlisten();
    };
  }

  async counts(): Promise<{ sites: number; devices: number }> {
    const sites = (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM sites'))!.n;
    const devices = (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM devices WHERE revoked_at IS NULL'))!.n;
    return { sites, devices };
  }
}
