// `songcheck-collector db migrate` and `db import-sqlite` as the real bin in child processes: a SQLite data
// directory with sites, codes, devices, an audit log and an alert is copied into a real PostgreSQL server
// (the shared one under SONGCHECK_TEST_DATABASE=postgres, else one of its own), and a registry on
// PostgreSQL then knows the same devices, tokens and order, and keeps numbering after the copied ids.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../scripts/postgres-server.ts';
import { cleanEnv, COLLECTOR_BIN, REPO_ROOT } from '../test/support/processes.ts';
import { AlertStore } from './alerts/store.ts';
import { COLLECTOR_MIGRATIONS, REGISTRY_FILE, SCHEMA_VERSION } from './database.ts';
import { Registry } from './registry/registry.ts';
import { openStore, storeLocation } from './store/open.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-db-cli-'));
const source = path.join(root, 'sqlite');
const target = path.join(root, 'postgres');
let server: PostgresServer | undefined;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  fs.mkdirSync(source);
  fs.mkdirSync(target);
  let url = inject('postgresUrl');
  if (!url) {
    server = await startPostgres();
    url = await server.createDatabase('db_cli_test');
  }
  // Under the shared server's test mode the child keeps SONGCHECK_TEST_DATABASE and uses a schema of its
  // own for `target`; on its own server it writes the fresh database's public schema.
  env = { ...cleanEnv(), SONGCHECK_DATA_DIR: target, SONGCHECK_DATABASE_URL: url };
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

function cli(args: string[], childEnv: NodeJS.ProcessEnv = env) {
  const r = spawnSync(process.execPath, [COLLECTOR_BIN, 'db', ...args], { cwd: REPO_ROOT, env: childEnv, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The registry the child wrote to: PostgreSQL at `target`, opened the way the child opens it. */
async function postgresRegistry(): Promise<Registry> {
  const store = await openStore(storeLocation(target, REGISTRY_FILE, env), { migrations: COLLECTOR_MIGRATIONS, name: 'registry' });
  return Registry.on(store);
}

describe('songcheck-collector db', () => {
  it('migrates, copies a SQLite data directory into PostgreSQL once, and the copy serves the same devices', { timeout: 180_000 }, async () => {
    // The source: a SQLite registry, whatever backend the tests run on.
    const sqlite = await openStore({ kind: 'sqlite', file: path.join(source, REGISTRY_FILE) }, { migrations: COLLECTOR_MIGRATIONS, name: 'registry' });
    const now = Date.now();
    const old = await Registry.on(sqlite, { now: () => now });
    await old.addSite({ code: 'LC-001', name: 'Điểm trường Bản Xèo', operator: 'viettel', groups: ['cluster:north'] });
    await old.addSite({ code: 'LC-002', name: 'Trường Y Tý' });
    const { code } = await old.createEnrollmentCode('LC-001', { uses: 5 });
    // Three devices in one millisecond: their order must survive the copy.
    const devices = [await old.enroll(code, { hostname: 'PC-01' }), await old.enroll(code, { hostname: 'PC-02' }), await old.enroll(code, { hostname: 'PC-03' })];
    await old.revokeDevice(devices[1]!.deviceId, { reason: 'stolen' });
    await old.moveDevice(devices[2]!.deviceId, 'LC-002');
    await new AlertStore(sqlite).putState({ ruleId: 'site-silent', siteCode: 'LC-001', state: 'firing', since: now, notifiedAt: now, clearStreak: 0, summary: 'last heard 42 min ago' });
    const order = (await old.listDevices({ includeRevoked: true })).map((d) => d.id);
    const audit = await old.auditLog({ limit: 100 });
    await old.close();

    const migrated = cli(['migrate']);
    expect(migrated.stderr).toBe('');
    expect(migrated.stdout).toMatch(new RegExp(`^PostgreSQL at 127\\.0\\.0\\.1:\\d+/\\w+.*: collector tables at version ${SCHEMA_VERSION}, throughput tables at version \\d+\\n$`));
    expect(migrated.stdout).not.toMatch(/password|secret/);

    const copied = cli(['import-sqlite', source]);
    expect(copied).toMatchObject({ code: 0, stderr: '' });
    expect(copied.stdout).toMatch(/^devices\s+3$/m);
    expect(copied.stdout).toMatch(/^sites\s+2$/m);
    expect(copied.stdout).toMatch(/^alert_state\s+1$/m);
    expect(copied.stdout).toContain(`from ${path.join(source, REGISTRY_FILE)} into PostgreSQL`);

    const registry = await postgresRegistry();
    try {
      expect((await registry.authenticateDevice(devices[0]!.token))?.site.code).toBe('LC-001');
      expect(await registry.authenticateDevice(devices[1]!.token)).toBeNull();
      expect((await registry.authenticateDevice(devices[2]!.token))?.site.code).toBe('LC-002');
      expect((await registry.listDevices({ includeRevoked: true })).map((d) => d.id)).toEqual(order);
      expect(await registry.getSite('LC-001')).toMatchObject({ operator: 'viettel', groups: ['cluster:north'] });
      expect(await new AlertStore(registry.store).states()).toEqual([expect.objectContaining({ ruleId: 'site-silent', siteCode: 'LC-001', state: 'firing' })]);
      // The code has uses left on PostgreSQL, and the audit log's ids continue after the copied ones.
      const fourth = await registry.enroll(code, { hostname: 'PC-04' });
      await registry.revokeDevice(fourth.deviceId);
      const log = await registry.auditLog({ limit: 100 });
      expect(log.slice(-audit.length)).toEqual(audit);
      expect(log.length).toBeGreaterThan(audit.length);
    } finally {
      await registry.close();
    }

    // Never twice, never a merge: the target is no longer empty.
    const again = cli(['import-sqlite', source]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^songcheck-collector: PostgreSQL table sites already has 2 rows; import-sqlite copies into an empty database only\n$/);
  });

  it('explains bad arguments and configuration and exits 2', { timeout: 120_000 }, () => {
    const missing = cli(['import-sqlite', path.join(root, 'nowhere')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^songcheck-collector: db import-sqlite: .*nowhere: no registry\.sqlite there; give the SONGCHECK_DATA_DIR of the collector to copy from\n$/);
    const { SONGCHECK_DATABASE_URL: _, ...withoutUrl } = env;
    const noUrl = cli(['import-sqlite', source], withoutUrl);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/set SONGCHECK_DATABASE_URL to the PostgreSQL database to copy into/);
    const badUrl = cli(['migrate'], { ...env, SONGCHECK_DATABASE_URL: 'mysql://db/songcheck' });
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toBe('songcheck-collector: invalid configuration:\n  SONGCHECK_DATABASE_URL: must be a postgres:// URL, e.g. postgres://songcheck:secret@db.example:5432/songcheck\n');
    // Without a URL, migrate prepares the SQLite files of the data directory.
    const onSqlite = cli(['migrate'], { ...withoutUrl, SONGCHECK_TEST_DATABASE: '', SONGCHECK_DATA_DIR: path.join(root, 'fresh') });
    expect(onSqlite).toMatchObject({ code: 0, stderr: '' });
    expect(onSqlite.stdout).toMatch(/^SQLite in .*fresh: collector tables at version \d+/);
    expect(fs.existsSync(path.join(root, 'fresh', REGISTRY_FILE))).toBe(true);
  });
});
