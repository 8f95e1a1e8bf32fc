import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnrollmentError, Registry, RegistryError } from './registry.ts';
import { REGISTRY_FILE, SCHEMA_VERSION } from '../database.ts';
import { hashEnrollmentCode, normalizeEnrollmentCode } from './secrets.ts';

let dir: string;
let now: number;
let registry: Registry;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-registry-'));
  now = Date.UTC(2025, 8, 1, 8);
  registry = Registry.open(dir, { now: () => now });
  registry.addSite({ code: 'LC-001', name: 'Điểm trường Bản Xèo', commune: 'Bản Xèo', operator: 'viettel', linkType: '4g', groups: ['cluster:north'] });
});
afterEach(() => {
  registry.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof EnrollmentError) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('sites', () => {
  it('adds, gets and lists sites', () => {
    registry.addSite({ code: 'LC-000', name: 'Trường A', latitude: 22.5, longitude: 103.9, students: 40 });
    expect(registry.getSite('LC-001')).toMatchObject({ code: 'LC-001', commune: 'Bản Xèo', linkType: '4g', groups: ['cluster:north'] });
    expect(registry.listSites().map((s) => s.code)).toEqual(['LC-000', 'LC-001']);
    expect(registry.getSite('nope')).toBeUndefined();
  });

  it('refuses bad and duplicate site codes', () => {
    expect(() => registry.addSite({ code: '-x', name: 'X' })).toThrow(/code: must be 1-64 characters/);
    expect(() => registry.addSite({ code: 'a b', name: 'X' })).toThrow(RegistryError);
    expect(() => registry.addSite({ code: 'LC-001', name: 'X' })).toThrow(/already exists/);
    expect(() => registry.addSite({ code: 'LC-9', name: 'X', latitude: 1 })).toThrow(/give both or neither/);
  });
});

describe('enrollment', () => {
  it('creates human-friendly codes and accepts them typed sloppily', () => {
    const { code } = registry.createEnrollmentCode('LC-001');
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    const sloppy = ` ${code.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l')} `;
    expect(normalizeEnrollmentCode(sloppy)).toBe(code.replace(/-/g, ''));
    const enrolled = registry.enroll(sloppy, { hostname: 'PC-01', platform: 'win32', agentVersion: '0.1.0' });
    expect(enrolled.deviceId).toMatch(/^dev_[0-9a-f]{32}$/);
    expect(Buffer.from(enrolled.token, 'base64url')).toHaveLength(32);
    expect(enrolled.site.code).toBe('LC-001');
  });

  it('counts uses down and then refuses with used_up', () => {
    const { code } = registry.createEnrollmentCode('LC-001', { uses: 2 });
    expect(reasonOf(() => registry.enroll(code))).toBe('accepted');
    expect(reasonOf(() => registry.enroll(code))).toBe('accepted');
    expect(reasonOf(() => registry.enroll(code))).toBe('used_up');
    expect(registry.counts()).toEqual({ sites: 1, devices: 2 });
  });

  it('refuses an expired code and an unknown one, with distinct reasons', () => {
    const { code } = registry.createEnrollmentCode('LC-001', { ttlDays: 1 });
    now += 86_400_000;
    expect(reasonOf(() => registry.enroll(code))).toBe('expired');
    expect(reasonOf(() => registry.enroll('AAAA-BBBB-CCCC'))).toBe('invalid');
    expect(registry.counts().devices).toBe(0);
  });

  it('refuses a code for an unknown site and silly options', () => {
    expect(() => registry.createEnrollmentCode('LC-404')).toThrow(/no site with code LC-404/);
    expect(() => registry.createEnrollmentCode('LC-001', { uses: 0 })).toThrow(/uses must be/);
    expect(() => registry.createEnrollmentCode('LC-001', { ttlDays: -1 })).toThrow(/ttlDays must be/);
  });
});

describe('devices', () => {
  it('authenticates by token, touches and revokes', () => {
    const { code } = registry.createEnrollmentCode('LC-001');
    const { deviceId, token } = registry.enroll(code, { agentVersion: '0.1.0' });
    const auth = registry.authenticateDevice(token);
    expect(auth?.device).toMatchObject({ id: deviceId, siteCode: 'LC-001', agentVersion: '0.1.0', lastSeenAt: now });
    expect(auth?.site.operator).toBe('viettel');
    expect(registry.authenticateDevice(`${token}x`)).toBeNull();

    registry.touchDevice(deviceId, now + 5000, '0.2.0');
    registry.touchDevice(deviceId, now + 1000); // an older, slower request must not move last_seen back
    expect(registry.authenticateDevice(token)?.device).toMatchObject({ lastSeenAt: now + 5000, agentVersion: '0.2.0' });

    expect(registry.revokeDevice(deviceId)).toBe(true);
    expect(registry.authenticateDevice(token)).toBeNull();
  });

  it('stores tokens and codes only as hashes: neither plaintext is anywhere in the database files', () => {
    const { code } = registry.createEnrollmentCode('LC-001');
    const { token } = registry.enroll(code);
    registry.close();
    const bytes = Buffer.concat(
      fs.readdirSync(dir).filter((f) => f.startsWith(REGISTRY_FILE)).map((f) => fs.readFileSync(path.join(dir, f))),
    );
    expect(bytes.includes(Buffer.from(token))).toBe(false);
    expect(bytes.includes(Buffer.from(code))).toBe(false);
    expect(bytes.includes(Buffer.from(code.replace(/-/g, '')))).toBe(false);
    expect(bytes.includes(Buffer.from(hashEnrollmentCode(code)))).toBe(true);
    registry = Registry.open(dir, { now: () => now });
    expect(registry.authenticateDevice(token)).not.toBeNull();
  });
});

describe('schema', () => {
  it('is in WAL mode at the current user_version, and reopening does not migrate twice', () => {
    registry.close();
    const db = new Database(path.join(dir, REGISTRY_FILE));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    registry = Registry.open(dir);
    expect(registry.listSites()).toHaveLength(1);
  });

  it('refuses a database from a newer collector', () => {
    registry.close();
    const db = new Database(path.join(dir, REGISTRY_FILE));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => Registry.open(dir)).toThrow(/newer than this collector/);
    registry = Registry.open(fs.mkdtempSync(path.join(dir, 'other-')));
  });
});

describe('site edits', () => {
  it('changes only the given fields, clears with null, and writes nothing when nothing changes', () => {
    const { site, changed } = registry.updateSite('LC-001', { students: 120, operator: null, groups: ['cluster:south'] });
    expect(changed).toEqual(['operator', 'students', 'groups']);
    expect(site).toMatchObject({ students: 120, groups: ['cluster:south'], commune: 'Bản Xèo' });
    expect(site).not.toHaveProperty('operator');
    const audit = registry.auditLog().length;
    now += 1000;
    expect(registry.updateSite('LC-001', { students: 120, name: 'Điểm trường Bản Xèo' }).changed).toEqual([]);
    expect(registry.getSite('LC-001')?.updatedAt).toBe(site.updatedAt);
    expect(registry.auditLog()).toHaveLength(audit);
  });

  it('refuses bad edits and unknown sites', () => {
    expect(() => registry.updateSite('LC-001', { latitude: 22.5 })).toThrow(/give both or neither/);
    expect(() => registry.updateSite('LC-001', { linkType: '2g' as never })).toThrow(/linkType: must be one of/);
    expect(() => registry.updateSite('LC-001', { code: 'X' } as never)).toThrow(/unknown field "code"/);
    expect(() => registry.updateSite('LC-404', { students: 1 })).toThrow(/no site with code LC-404/);
  });
});

describe('enrollment codes', () => {
  it('are listed by id and status, never by code, and a withdrawn code enrols nobody', () => {
    const a = registry.createEnrollmentCode('LC-001', { uses: 2 });
    const b = registry.createEnrollmentCode('LC-001', { ttlDays: 1 });
    expect(a.id).toMatch(/^ec_[0-9a-f]{16}$/);
    registry.enroll(a.code);
    expect(registry.listEnrollmentCodes({ siteCode: 'LC-001' }).map((c) => [c.id, c.usesLeft, c.usesTotal, c.status])).toEqual([
      [a.id, 1, 2, 'active'],
      [b.id, 1, 1, 'active'],
    ]);
    expect(JSON.stringify(registry.listEnrollmentCodes())).not.toContain(a.code);
    expect(registry.revokeEnrollmentCode(a.id)).toBe(true);
    expect(registry.revokeEnrollmentCode(a.id)).toBe(false);
    expect(reasonOf(() => registry.enroll(a.code))).toBe('invalid');
    now += 2 * 86_400_000;
    expect(registry.listEnrollmentCodes().map((c) => c.status)).toEqual(['revoked', 'expired']);
    expect(registry.listEnrollmentCodes({ activeOnly: true })).toEqual([]);
    expect(() => registry.revokeEnrollmentCode('ec_0000000000000000')).toThrow(/no enrollment code/);
  });
});

describe('device identity', () => {
  it('gives each enrollment its own device, flagging (not merging) a shared hardware fingerprint', () => {
    const { code } = registry.createEnrollmentCode('LC-001', { uses: 3 });
    const first = registry.enroll(code, { fingerprint: 'f'.repeat(32), hostname: 'PC-01' });
    const clone = registry.enroll(code, { fingerprint: 'f'.repeat(32), hostname: 'PC-01' });
    const other = registry.enroll(code, { fingerprint: 'a'.repeat(32) });
    expect(first.duplicateOf).toEqual([]);
    expect(clone.duplicateOf).toEqual([first.deviceId]);
    expect(clone.deviceId).not.toBe(first.deviceId);
    expect(clone.token).not.toBe(first.token);
    const flags = () => Object.fromEntries(registry.listDevices({ includeRevoked: true }).map((d) => [d.id, d.duplicateFingerprint]));
    expect(flags()).toEqual({ [first.deviceId]: true, [clone.deviceId]: true, [other.deviceId]: false });
    // Revoking the stale one clears the flag on the other: only active devices count.
    registry.revokeDevice(first.deviceId, { reason: 'reinstalled' });
    expect(flags()).toEqual({ [first.deviceId]: false, [clone.deviceId]: false, [other.deviceId]: false });
    expect(registry.getDevice(first.deviceId)).toMatchObject({ revokedAt: now, revokedReason: 'reinstalled', siteName: 'Điểm trường Bản Xèo' });
  });

  it('moves a device to another site: the next authentication carries the new site', () => {
    registry.addSite({ code: 'LC-002', name: 'Trường Y Tý', operator: 'vnpt' });
    const { deviceId, token } = registry.enroll(registry.createEnrollmentCode('LC-001').code);
    const moved: unknown[] = [];
    registry.events.on('moved', (m) => moved.push(m));
    expect(registry.moveDevice(deviceId, 'LC-002')).toEqual({ from: 'LC-001', to: 'LC-002', changed: true });
    expect(registry.authenticateDevice(token)?.site).toMatchObject({ code: 'LC-002', operator: 'vnpt' });
    expect(registry.moveDevice(deviceId, 'LC-002').changed).toBe(false);
    expect(moved).toEqual([{ deviceId, from: 'LC-001', to: 'LC-002' }]);
    expect(() => registry.moveDevice(deviceId, 'LC-404')).toThrow(/no site with code LC-404/);
    expect(() => registry.moveDevice('dev_nope', 'LC-001')).toThrow(/no device with id dev_nope/);
  });

  it('announces a revocation at once here, and through pollChanges in another process', () => {
    const { deviceId } = registry.enroll(registry.createEnrollmentCode('LC-001').code);
    const { deviceId: second } = registry.enroll(registry.createEnrollmentCode('LC-001').code);
    // Another connection to the same file stands for the CLI or another collector worker.
    const cli = Registry.open(dir, { now: () => now });
    const seenHere: string[] = [];
    const seenThere: string[] = [];
    registry.events.on('revoked', (id) => seenHere.push(id));
    cli.events.on('revoked', (id) => seenThere.push(id));
    try {
      expect(cli.revokeDevice(deviceId, { actor: 'cli test' })).toBe(true);
      expect(seenThere).toEqual([deviceId]); // at once in the process that revoked
      expect(seenHere).toEqual([]);
      registry.pollChanges();
      expect(seenHere).toEqual([deviceId]);
      registry.revokeDevice(second);
      registry.pollChanges(); // its own revocation was announced already, not twice
      cli.pollChanges();
      expect(seenHere).toEqual([deviceId, second]);
      expect(seenThere).toEqual([deviceId, second]);
      expect(cli.revokeDevice(deviceId)).toBe(false);
      expect(registry.isDeviceActive(deviceId)).toBe(false);
    } finally {
      cli.close();
    }
  });
});

describe('migration', () => {
  it('brings a version-1 registry up to date, keeping its sites, codes and devices', () => {
    registry.close();
    const v1dir = fs.mkdtempSync(path.join(dir, 'v1-'));
    const db = new Database(path.join(v1dir, REGISTRY_FILE));
    // The first migration exactly as released, with one row in each table.
    db.exec(`CREATE TABLE sites (code TEXT PRIMARY KEY, name TEXT NOT NULL, commune TEXT, province TEXT, operator TEXT, link_type TEXT,
        latitude REAL, longitude REAL, students INTEGER, "groups" TEXT NOT NULL DEFAULT '[]', created_at INTEGER NOT NULL);
      CREATE TABLE enrollment_codes (code_hash TEXT PRIMARY KEY, site_code TEXT NOT NULL REFERENCES sites(code), created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL, uses_left INTEGER NOT NULL);
      CREATE TABLE devices (id TEXT PRIMARY KEY, site_code TEXT NOT NULL REFERENCES sites(code), token_hash TEXT NOT NULL UNIQUE,
        enrolled_at INTEGER NOT NULL, last_seen_at INTEGER, agent_version TEXT, platform TEXT, hostname TEXT, fingerprint TEXT, revoked_at INTEGER);
      CREATE INDEX devices_site ON devices(site_code);
      INSERT INTO sites (code, name, created_at) VALUES ('OLD-1', 'Trường cũ', 1000);
      INSERT INTO enrollment_codes VALUES ('${hashEnrollmentCode('AAAA-BBBB-CCCC')}', 'OLD-1', 1000, ${now + 86_400_000}, 3);
      INSERT INTO devices (id, site_code, token_hash, enrolled_at) VALUES ('dev_old', 'OLD-1', '${'0'.repeat(64)}', 1000);
      PRAGMA user_version = 1;`);
    db.close();
    registry = Registry.open(v1dir, { now: () => now });
    expect(registry.getSite('OLD-1')).toMatchObject({ name: 'Trường cũ', createdAt: 1000, updatedAt: 1000 });
    expect(registry.listEnrollmentCodes()).toEqual([expect.objectContaining({ id: expect.stringMatching(/^ec_[0-9a-f]{16}$/), usesTotal: 3, usesLeft: 3, status: 'active' })]);
    expect(registry.enroll('AAAA-BBBB-CCCC').site.code).toBe('OLD-1');
    expect(registry.listDevices().map((d) => d.id)).toContain('dev_old');
  });
});
