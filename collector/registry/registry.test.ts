import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnrollmentError, Registry, RegistryError } from './registry.ts';
import { REGISTRY_FILE, SCHEMA_VERSION } from './schema.ts';
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
