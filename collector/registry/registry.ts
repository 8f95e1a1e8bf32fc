// The site and device registry: who may send measurements, and which site's tags they carry.
// InfluxDB holds measurements only; this SQLite file holds identity only.
import type Database from 'better-sqlite3';
import { formatIssuesLine } from '../validation.ts';
import { openDatabase } from './schema.ts';
import { hashEnrollmentCode, newDeviceId, newDeviceToken, newEnrollmentCode, sha256Hex } from './secrets.ts';
import { type Site, SiteInput, type SiteRow, siteFromRow } from './site.ts';

const DAY_MS = 86_400_000;

export class RegistryError extends Error {
  constructor(
    readonly code: 'invalid_site' | 'site_exists' | 'site_not_found' | 'invalid_argument',
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
}

export interface AuthenticatedDevice {
  device: Device;
  site: Site;
}

export interface RegistryOptions {
  /** Wall clock in epoch ms; injectable so tests can move past an expiry. */
  now?: () => number;
}

interface DeviceRow {
  id: string;
  site_code: string;
  enrolled_at: number;
  last_seen_at: number | null;
  agent_version: string | null;
  platform: string | null;
  hostname: string | null;
  fingerprint: string | null;
}

function deviceFromRow(r: DeviceRow): Device {
  const d: Device = { id: r.id, siteCode: r.site_code, enrolledAt: r.enrolled_at };
  if (r.last_seen_at !== null) d.lastSeenAt = r.last_seen_at;
  if (r.agent_version !== null) d.agentVersion = r.agent_version;
  if (r.platform !== null) d.platform = r.platform;
  if (r.hostname !== null) d.hostname = r.hostname;
  if (r.fingerprint !== null) d.fingerprint = r.fingerprint;
  return d;
}

/** How stale a device's stored last-seen time may get; presence finer than this comes from heartbeats. */
const TOUCH_INTERVAL_MS = 60_000;

export class Registry {
  private readonly now: () => number;
  // Compiling SQL costs more than running these lookups; every statement is compiled once per connection.
  private readonly statements = new Map<string, Database.Statement>();
  // Each UPDATE is a commit (an fsync in WAL mode), so a device's last-seen time is written at most once a minute.
  private readonly lastTouched = new Map<string, { at: number; agentVersion?: string }>();

  constructor(
    private readonly db: Database.Database,
    options: RegistryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  static open(dataDir: string, options: RegistryOptions = {}): Registry {
    return new Registry(openDatabase(dataDir), options);
  }

  private sql(source: string): Database.Statement {
    let stmt = this.statements.get(source);
    if (!stmt) {
      stmt = this.db.prepare(source);
      this.statements.set(source, stmt);
    }
    return stmt;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  addSite(input: SiteInput): Site {
    const parsed = SiteInput.safeParse(input);
    if (!parsed.success) throw new RegistryError('invalid_site', formatIssuesLine(parsed.error));
    const s = parsed.data;
    if (this.getSite(s.code)) throw new RegistryError('site_exists', `site ${s.code} already exists`);
    this.sql(
        `INSERT INTO sites (code, name, commune, province, operator, link_type, latitude, longitude, students, "groups", created_at)
         VALUES (@code, @name, @commune, @province, @operator, @linkType, @latitude, @longitude, @students, @groups, @createdAt)`,
      )
      .run({
        code: s.code,
        name: s.name,
        commune: s.commune ?? null,
        province: s.province ?? null,
        operator: s.operator ?? null,
        linkType: s.linkType ?? null,
        latitude: s.latitude ?? null,
        longitude: s.longitude ?? null,
        students: s.students ?? null,
        groups: JSON.stringify(s.groups),
        createdAt: this.now(),
      });
    return this.getSite(s.code)!;
  }

  getSite(code: string): Site | undefined {
    const row = this.sql('SELECT * FROM sites WHERE code = ?').get(code) as SiteRow | undefined;
    return row ? siteFromRow(row) : undefined;
  }

  listSites(): Site[] {
    return (this.sql('SELECT * FROM sites ORDER BY code').all() as SiteRow[]).map(siteFromRow);
  }

  /** Returns the plaintext code; only its hash is stored, so this is the one chance to read it. */
  createEnrollmentCode(siteCode: string, opts: { ttlDays?: number; uses?: number } = {}): { code: string; expiresAt: number } {
    const ttlDays = opts.ttlDays ?? 30;
    const uses = opts.uses ?? 1;
    if (!(ttlDays > 0 && ttlDays <= 3650)) throw new RegistryError('invalid_argument', 'ttlDays must be between 0 and 3650');
    if (!(Number.isInteger(uses) && uses >= 1 && uses <= 10_000)) {
      throw new RegistryError('invalid_argument', 'uses must be an integer between 1 and 10000');
    }
    if (!this.getSite(siteCode)) throw new RegistryError('site_not_found', `no site with code ${siteCode}; add it first`);
    const code = newEnrollmentCode();
    const createdAt = this.now();
    const expiresAt = createdAt + Math.round(ttlDays * DAY_MS);
    this.sql('INSERT INTO enrollment_codes (code_hash, site_code, created_at, expires_at, uses_left) VALUES (?, ?, ?, ?, ?)')
      .run(hashEnrollmentCode(code), siteCode, createdAt, expiresAt, uses);
    return { code, expiresAt };
  }

  /** Exchanges a code for a new device identity. Throws EnrollmentError with why the code was refused. */
  enroll(code: string, facts: DeviceFacts = {}): { deviceId: string; token: string; site: Site } {
    const codeHash = hashEnrollmentCode(code);
    // IMMEDIATE takes the write lock before reading uses_left, so two agents (or two collectors sharing
    // the file) racing for the last use cannot both win it.
    const run = this.db.transaction(() => {
      const row = this.sql('SELECT site_code, expires_at, uses_left FROM enrollment_codes WHERE code_hash = ?')
        .get(codeHash) as { site_code: string; expires_at: number; uses_left: number } | undefined;
      if (!row) throw new EnrollmentError('invalid');
      const now = this.now();
      if (row.expires_at <= now) throw new EnrollmentError('expired');
      if (row.uses_left <= 0) throw new EnrollmentError('used_up');
      this.sql('UPDATE enrollment_codes SET uses_left = uses_left - 1 WHERE code_hash = ?').run(codeHash);
      const deviceId = newDeviceId();
      const token = newDeviceToken();
      this.sql(
          `INSERT INTO devices (id, site_code, token_hash, enrolled_at, last_seen_at, agent_version, platform, hostname, fingerprint)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(deviceId, row.site_code, sha256Hex(token), now, now, facts.agentVersion ?? null, facts.platform ?? null,
          facts.hostname ?? null, facts.fingerprint ?? null);
      return { deviceId, token, site: this.getSite(row.site_code)! };
    });
    return run.immediate();
  }

  /** The device and its site for a bearer token, or null for an unknown or revoked token. */
  authenticateDevice(token: string): AuthenticatedDevice | null {
    const row = this.sql('SELECT * FROM devices WHERE token_hash = ? AND revoked_at IS NULL')
      .get(sha256Hex(token)) as DeviceRow | undefined;
    if (!row) return null;
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

  revokeDevice(deviceId: string): boolean {
    return this.sql('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(this.now(), deviceId).changes > 0;
  }

  counts(): { sites: number; devices: number } {
    const sites = (this.sql('SELECT COUNT(*) AS n FROM sites').get() as { n: number }).n;
    const devices = (this.sql('SELECT COUNT(*) AS n FROM devices WHERE revoked_at IS NULL').get() as { n: number }).n;
    return { sites, devices };
  }
}
