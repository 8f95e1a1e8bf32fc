import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnrollmentError, Registry, RegistryError } from './registry.ts';
import { openCollectorStore, REGISTRY_FILE, SCHEMA_VERSION } from '../database.ts';
import { hashEnrollmentCode, normalizeEnrollmentCode } from './secrets.ts';

/** Under SONGCHECK_TEST_DATABASE=postgres the registry is a PostgreSQL schema, not a file: the file checks have PostgreSQL twins. */
const onPostgres = Boolean(process.env.SONGCHECK_DATABASE_URL);
let dir: string;
let now: number;
let registry: Registry;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-registry-'));
  now = Date.UTC(2025, 8, 1, 8);
  registry = await Registry.open(dir, { now: () => now });
  await registry.addSite({ code: 'LC-001', name: 'Điểm trường Bản Xèo', commune: 'Bản Xèo', operator: 'viettel', linkType: '4g', groups: ['cluster:north'] });
});
afterEach(async () => {
  await registry.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function reasonOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof EnrollmentError) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('sites', () => {
  it('adds, gets and lists sites', async () => {
    await registry.addSite({ code: 'LC-000', name: 'Trường A', latitude: 22.5, longitude: 103.9, students: 40 });
    expect(await registry.getSite('LC-001')).toMatchObject({ code: 'LC-001', commune: 'Bản Xèo', linkType: '4g', groups: ['cluster:north'] });
    expect((await registry.listSites()).map((s) => s.code)).toEqual(['LC-000', 'LC-001']);
    expect(await registry.getSite('nope')).toBeUndefined();
  });

  it('refuses bad and duplicate site codes', async () => {
    await expect(registry.addSite({ code: '-x', name: 'X' })).rejects.toThrow(/code: must be 1-64 characters/);
    await expect(registry.addSite({ code: 'a b', name: 'X' })).rejects.toThrow(RegistryError);
    await expect(registry.addSite({ code: 'LC-001', name: 'X' })).rejects.toThrow(/already exists/);
    await expect(registry.addSite({ code: 'LC-9', name: 'X', latitude: 1 })).rejects.toThrow(/give both or neither/);
  });
});

describe('enrollment', () => {
  it('creates human-friendly codes and accepts them typed sloppily', async () => {
    const { code } = await registry.createEnrollmentCode('LC-001');
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    const sloppy = ` ${code.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l')} `;
    expect(normalizeEnrollmentCode(sloppy)).toBe(code.replace(/-/g, ''));
    const enrolled = await registry.enroll(sloppy, { hostname: 'PC-01', platform: 'win32', agentVersion: '0.1.0' });
    expect(enrolled.deviceId).toMatch(/^dev_[0-9a-f]{32}$/);
    expect(Buffer.from(enrolled.token, 'base64url')).toHaveLength(32);
    expect(enrolled.site.code).toBe('LC-001');
  });

  it('counts uses down and then refuses with used_up', async () => {
    const { code } = await registry.createEnrollmentCode('LC-001', { uses: 2 });
    expect(await reasonOf(() => registry.enroll(code))).toBe('accepted');
    expect(await reasonOf(() => registry.enroll(code))).toBe('accepted');
    expect(await reasonOf(() => registry.enroll(code))).toBe('used_up');
    expect(await registry.counts()).toEqual({ sites: 1, devices: 2 });
  });

  it('refuses an expired code and an unknown one, with distinct reasons', async () => {
    const { code } = await registry.createEnrollmentCode('LC-001', { ttlDays: 1 });
    now += 86_400_000;
    expect(await reasonOf(() => registry.enroll(code))).toBe('expired');
    expect(await reasonOf(() => registry.enroll('AAAA-BBBB-CCCC'))).toBe('invalid');
    expect((await registry.counts()).devices).toBe(0);
  });

  it('refuses a code for an unknown site and silly options', async () => {
    await expect(registry.createEnrollmentCode('LC-404')).rejects.toThrow(/no site with code LC-404/);
    await expect(registry.createEnrollmentCode('LC-001', { uses: 0 })).rejects.toThrow(/uses must be/);
    await expect(registry.createEnrollmentCode('LC-001', { ttlDays: -1 })).rejects.toThrow(/ttlDays must be/);
  });
});

describe('devices', () => {
  it('authenticates by token, touches and revokes', async () => {
    const { code } = await registry.createEnrollmentCode('LC-001');
    const { deviceId, token } = await registry.enroll(code, { agentVersion: '0.1.0' });
    const auth = await registry.authenticateDevice(token);
    expect(auth?.device).toMatchObject({ id: deviceId, siteCode: 'LC-001', agentVersion: '0.1.0', lastSeenAt: now });
    expect(auth?.site.operator).toBe('viettel');
    expect(await registry.authenticateDevice(`${token}x`)).toBeNull();

    await registry.touchDevice(deviceId, now + 5000, '0.2.0');
    await registry.touchDevice(deviceId, now + 1000); // an older, slower request must not move last_seen back
    expect((await registry.authenticateDevice(token))?.device).toMatchObject({ lastSeenAt: now + 5000, agentVersion: '0.2.0' });

    expect(await registry.revokeDevice(deviceId)).toBe(true);
    expect(await registry.authenticateDevice(token)).toBeNull();
  });

  it('stores tokens and codes only as hashes: neither plaintext is anywhere in the database', async () => {
    const { code } = await registry.createEnrollmentCode('LC-001');
    const { token } = await registry.enroll(code);
    await registry.close();
    const bytes = await databaseContents(dir);
    expect(bytes.includes(Buffer.from(token))).toBe(false);
    expect(bytes.includes(Buffer.from(code))).toBe(false);
    expect(bytes.includes(Buffer.from(code.replace(/-/g, '')))).toBe(false);
    expect(bytes.includes(Buffer.from(hashEnrollmentCode(code)))).toBe(true);
    registry = await Registry.open(dir, { now: () => now });
    expect(await registry.authenticateDevice(token)).not.toBeNull();
  });
});

/** Everything the registry's database holds: the SQLite files' bytes, or every row of every table of the PostgreSQL schema. */
async function databaseContents(dataDir: string): Promise<Buffer> {
  if (!onPostgres) {
    return Buffer.concat(fs.readdirSync(dataDir).filter((f) => f.startsWith(REGISTRY_FILE)).map((f) => fs.readFileSync(path.join(dataDir, f))));
  }
  const db = await openCollectorStore(dataDir);
  try {
    const tables = await db.all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()");
    expect(tables.map((t) => t.name)).toContain('devices');
    const rows = await Promise.all(tables.map((t) => db.all(`SELECT * FROM "${t.name}"`)));
    return Buffer.from(JSON.stringify(rows));
  } finally {
    await db.close();
  }
}

describe('schema', () => {
  it.skipIf(onPostgres)('is in WAL mode at the current user_version, and reopening does not migrate twice', async () => {
    await registry.close();
    const db = new Database(path.join(dir, REGISTRY_FILE));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    registry = await Registry.open(dir);
    expect(await registry.listSites()).toHaveLength(1);
  });

  it.skipIf(onPostgres)('refuses a database from a newer collector', async () => {
    await registry.close();
    const db = new Database(path.join(dir, REGISTRY_FILE));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await expect(Registry.open(dir)).rejects.toThrow(/newer than this collector/);
    registry = await Registry.open(fs.mkdtempSync(path.join(dir, 'other-')));
  });

  it.runIf(onPostgres)('records the current version in songcheck_schema, reopens without migrating twice and refuses a newer one (PostgreSQL)', async () => {
    await registry.close();
    const version = async (): Promise<number | undefined> => {
      const db = await openCollectorStore(dir);
      try {
        return (await db.get<{ version: number }>("SELECT version FROM songcheck_schema WHERE name = 'registry'"))?.version;
      } finally {
        await db.close();
      }
    };
    expect(await version()).toBe(SCHEMA_VERSION);
    registry = await Registry.open(dir);
    expect(await registry.listSites()).toHaveLength(1);
    await registry.close();
    const db = await openCollectorStore(dir);
    await db.run("UPDATE songcheck_schema SET version = ? WHERE name = 'registry'", SCHEMA_VERSION + 1);
    await db.close();
    await expect(Registry.open(dir)).rejects.toThrow(/newer than this collector/);
    registry = await Registry.open(fs.mkdtempSync(path.join(dir, 'other-')));
  });
});

describe('site edits', () => {
  it('changes only the given fields, clears with null, and writes nothing when nothing changes', async () => {
    const { site, changed } = await registry.updateSite('LC-001', { students: 120, operator: null, groups: ['cluster:south'] });
    expect(changed).toEqual(['operator', 'students', 'groups']);
    expect(site).toMatchObject({ students: 120, groups: ['cluster:south'], commune: 'Bản Xèo' });
    expect(site).not.toHaveProperty('operator');
    const audit = (await registry.auditLog()).length;
    now += 1000;
    expect((await registry.updateSite('LC-001', { students: 120, name: 'Điểm trường Bản Xèo' })).changed).toEqual([]);
    expect((await registry.getSite('LC-001'))?.updatedAt).toBe(site.updatedAt);
    expect(await registry.auditLog()).toHaveLength(audit);
  });

  it('refuses bad edits and unknown sites', async () => {
    await expect(registry.updateSite('LC-001', { latitude: 22.5 })).rejects.toThrow(/give both or neither/);
    await expect(registry.updateSite('LC-001', { linkType: '2g' as never })).rejects.toThrow(/linkType: must be one of/);
    await expect(registry.updateSite('LC-001', { code: 'X' } as never)).rejects.toThrow(/unknown field "code"/);
    await expect(registry.updateSite('LC-404', { students: 1 })).rejects.toThrow(/no site with code LC-404/);
  });
});

describe('enrollment codes', () => {
  it('are listed by id and status, never by code, and a withdrawn code enrols nobody', async () => {
    const a = await registry.createEnrollmentCode('LC-001', { uses: 2 });
    const b = await registry.createEnrollmentCode('LC-001', { ttlDays: 1 });
    expect(a.id).toMatch(/^ec_[0-9a-f]{16}$/);
    await registry.enroll(a.code);
    expect((await registry.listEnrollmentCodes({ siteCode: 'LC-001' })).map((c) => [c.id, c.usesLeft, c.usesTotal, c.status])).toEqual([
      [a.id, 1, 2, 'active'],
      [b.id, 1, 1, 'active'],
    ]);
    expect(JSON.stringify(await registry.listEnrollmentCodes())).not.toContain(a.code);
    expect(await registry.revokeEnrollmentCode(a.id)).toBe(true);
    expect(await registry.revokeEnrollmentCode(a.id)).toBe(false);
    expect(await reasonOf(() => registry.enroll(a.code))).toBe('invalid');
    now += 2 * 86_400_000;
    expect((await registry.listEnrollmentCodes()).map((c) => c.status)).toEqual(['revoked', 'expired']);
    expect(await registry.listEnrollmentCodes({ activeOnly: true })).toEqual([]);
    await expect(registry.revokeEnrollmentCode('ec_0000000000000000')).rejects.toThrow(/no enrollment code/);
  });
});

describe('device identity', () => {
  it('gives each enrollment its own device, flagging (not merging) a shared hardware fingerprint', async () => {
    const { code } = await registry.createEnrollmentCode('LC-001', { uses: 3 });
    const first = await registry.enroll(code, { fingerprint: 'f'.repeat(32), hostname: 'PC-01' });
    const clone = await registry.enroll(code, { fingerprint: 'f'.repeat(32), hostname: 'PC-01' });
    const other = await registry.enroll(code, { fingerprint: 'a'.repeat(32) });
    expect(first.duplicateOf).toEqual([]);
    expect(clone.duplicateOf).toEqual([first.deviceId]);
    expect(clone.deviceId).not.toBe(first.deviceId);
    expect(clone.token).not.toBe(first.token);
    const flags = async () => Object.fromEntries((await registry.listDevices({ includeRevoked: true })).map((d) => [d.id, d.duplicateFingerprint]));
    expect(await flags()).toEqual({ [first.deviceId]: true, [clone.deviceId]: true, [other.deviceId]: false });
    // Revoking the stale one clears the flag on the other: only active devices count.
    await registry.revokeDevice(first.deviceId, { reason: 'reinstalled' });
    expect(await flags()).toEqual({ [first.deviceId]: false, [clone.deviceId]: false, [other.deviceId]: false });
    expect(await registry.getDevice(first.deviceId)).toMatchObject({ revokedAt: now, revokedReason: 'reinstalled', siteName: 'Điểm trường Bản Xèo' });
  });

  it('moves a device to another site: the next authentication carries the new site', async () => {
    await registry.addSite({ code: 'LC-002', name: 'Trường Y Tý', operator: 'vnpt' });
    const { deviceId, token } = await registry.enroll((await registry.createEnrollmentCode('LC-001')).code);
    const moved: unknown[] = [];
    registry.events.on('moved', (m) => moved.push(m));
    expect(await registry.moveDevice(deviceId, 'LC-002')).toEqual({ from: 'LC-001', to: 'LC-002', changed: true });
    expect((await registry.authenticateDevice(token))?.site).toMatchObject({ code: 'LC-002', operator: 'vnpt' });
    expect((await registry.moveDevice(deviceId, 'LC-002')).changed).toBe(false);
    expect(moved).toEqual([{ deviceId, from: 'LC-001', to: 'LC-002' }]);
    await expect(registry.moveDevice(deviceId, 'LC-404')).rejects.toThrow(/no site with code LC-404/);
    await expect(registry.moveDevice('dev_nope', 'LC-001')).rejects.toThrow(/no device with id dev_nope/);
  });

  it('announces a revocation at once here, and through pollChanges in another process', async () => {
    const { deviceId } = await registry.enroll((await registry.createEnrollmentCode('LC-001')).code);
    const { deviceId: second } = await registry.enroll((await registry.createEnrollmentCode('LC-001')).code);
    // Another connection to the same file stands for the CLI or another collector worker.
    const cli = await Registry.open(dir, { now: () => now });
    const seenHere: string[] = [];
    const seenThere: string[] = [];
    registry.events.on('revoked', (id) => seenHere.push(id));
    cli.events.on('revoked', (id) => seenThere.push(id));
    try {
      expect(await cli.revokeDevice(deviceId, { actor: 'cli test' })).toBe(true);
      expect(seenThere).toEqual([deviceId]); // at once in the process that revoked
      expect(seenHere).toEqual([]);
      await registry.pollChanges();
      expect(seenHere).toEqual([deviceId]);
      await registry.revokeDevice(second);
      await registry.pollChanges(); // its own revocation was announced already, not twice
      await cli.pollChanges();
      expect(seenHere).toEqual([deviceId, second]);
      expect(seenThere).toEqual([deviceId, second]);
      expect(await cli.revokeDevice(deviceId)).toBe(false);
      expect(await registry.isDeviceActive(deviceId)).toBe(false);
    } finally {
      await cli.close();
    }
  });
});

// PostgreSQL support came after version 2: a PostgreSQL database never held a version-1 schema.
describe.skipIf(onPostgres)('migration', () => {
  it('brings a version-1 registry up to date, keeping its sites, codes and devices', async () => {
    await registry.close();
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
    registry = await Registry.open(v1dir, { now: () => now });
    expect(await registry.getSite('OLD-1')).toMatchObject({ name: 'Trường cũ', createdAt: 1000, updatedAt: 1000 });
    expect(await registry.listEnrollmentCodes()).toEqual([expect.objectContaining({ id: expect.stringMatching(/^ec_[0-9a-f]{16}$/), usesTotal: 3, usesLeft: 3, status: 'active' })]);
    expect((await registry.enroll('AAAA-BBBB-CCCC')).site.code).toBe('OLD-1');
    expect((await registry.listDevices()).map((d) => d.id)).toContain('dev_old');
  });
});
