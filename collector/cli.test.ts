// The real bin as a child process: registry commands with only SONGCHECK_DATA_DIR set, usage errors
// (one line, exit 2), and `serve` stopping cleanly on SIGTERM.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../scripts/influxd-server.ts';
import { uniqueTestDb } from '../test/support/influx-query.ts';
import { COLLECTOR_BIN, REPO_ROOT, spawnNode } from '../test/support/processes.ts';
import { Registry } from './registry/registry.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-cli-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** Runs the bin with a clean SONGCHECK_* environment: stdout and stderr kept apart. */
function cli(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SONGCHECK_')));
  const r = spawnSync(process.execPath, [COLLECTOR_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...clean, SONGCHECK_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('songcheck-collector registry commands', () => {
  it('adds a site with every option and lists it', () => {
    const added = cli([
      'sites', 'add', '--code', 'LC-001', '--name', 'Điểm trường Bản Xèo', '--commune', 'Bản Xèo', '--province', 'Lào Cai',
      '--operator', 'viettel', '--link-type', '4g', '--lat', '22.58', '--lon', '103.76', '--students', '120',
      '--group', 'cluster:north', '--group', 'former-district:Bát Xát',
    ]);
    expect(added).toMatchObject({ code: 0, stdout: 'added site LC-001 (Điểm trường Bản Xèo)\n', stderr: '' });
    const list = cli(['sites', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        code: 'LC-001', province: 'Lào Cai', linkType: '4g', latitude: 22.58, longitude: 103.76, students: 120,
        groups: ['cluster:north', 'former-district:Bát Xát'],
      }),
    ]);
    expect(cli(['sites', 'list']).stdout).toMatch(/^CODE\s+NAME\s+COMMUNE\s+OPERATOR\s+LINK\nLC-001\s+Điểm trường Bản Xèo\s+Bản Xèo\s+viettel\s+4g\n$/);
  });

  it('prints an enrollment code alone on stdout, with the agent command as a hint on stderr', () => {
    const r = cli(['enroll-code', '--site', 'LC-001', '--uses', '2', '--ttl-days', '7'], { SONGCHECK_PUBLIC_URL: 'https://songcheck.example.vn' });
    expect(r.code).toBe(0);
    const code = r.stdout.trim();
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(r.stderr).toContain(`songcheck-agent enroll --collector https://songcheck.example.vn --code ${code}`);
    const registry = Registry.open(dataDir);
    try {
      expect(registry.enroll(code).site.code).toBe('LC-001');
    } finally {
      registry.close();
    }
  });

  it.each([
    [['sites', 'add', '--code', 'LC-002', '--name', 'X', '--link-type', '2g'], /^songcheck-collector: --link-type: must be one of 4g, 3g, 5g, fibre, adsl, other\n$/],
    [['sites', 'add', '--code', 'LC-002', '--name', 'X', '--lat', '22.5'], /^songcheck-collector: --lat: give --lat and --lon together\n$/],
    [['sites', 'add', '--name', 'X', '--bogus', 'y'], /^songcheck-collector: Unknown option '--bogus'.*\n$/],
    [['sites', 'add', '--code', 'bad code!', '--name', 'X'], /^songcheck-collector: --code: must be 1-64 characters.*\n$/],
    [['enroll-code', '--site', 'LC-001', '--uses', 'two'], /^songcheck-collector: --uses: must be a whole number\n$/],
    [['enroll-code'], /^songcheck-collector: --site is required\n$/],
    [['frobnicate'], /^songcheck-collector: unknown command "frobnicate"; run "songcheck-collector help"\n$/],
  ])('rejects bad arguments %j with one line on stderr and exit 2', (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('exits 1 with one line when the registry refuses', () => {
    expect(cli(['sites', 'add', '--code', 'LC-001', '--name', 'Again'])).toMatchObject({ code: 1, stderr: 'songcheck-collector: site LC-001 already exists\n' });
    expect(cli(['enroll-code', '--site', 'LC-404'])).toMatchObject({ code: 1, stderr: 'songcheck-collector: no site with code LC-404; add it first\n' });
  });

  it('prints help', () => {
    expect(cli(['help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('sites add --code CODE --name NAME') });
  });
});

describe('songcheck-collector serve', () => {
  it('lists every configuration problem and exits 2', () => {
    const r = cli(['serve'], { SONGCHECK_PORT: 'eighty', SONGCHECK_INFLUX_PASSWORD: 'secret-pass' });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      'songcheck-collector: invalid configuration:',
      '  SONGCHECK_PORT: must be an integer between 0 and 65535',
      '  SONGCHECK_INFLUX_URL: required (e.g. http://127.0.0.1:8086)',
      '  SONGCHECK_ADMIN_TOKEN: required (at least 16 characters)',
      '  SONGCHECK_INFLUX_USER: required when SONGCHECK_INFLUX_PASSWORD is set',
    ]);
    expect(r.stderr).not.toContain('secret-pass');
  });

  it('serves, logs JSON without secrets, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const adminToken = 'admin-token-that-must-not-be-logged';
    const proc = spawnNode(COLLECTOR_BIN, ['serve'], {
      SONGCHECK_DATA_DIR: dataDir,
      SONGCHECK_PORT: String(port),
      SONGCHECK_INFLUX_URL: inject('influxUrl'),
      SONGCHECK_INFLUX_DB: uniqueTestDb('collector_cli'),
      SONGCHECK_ADMIN_TOKEN: adminToken,
    });
    try {
      await proc.waitForLine(/"collector listening"/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(await proc.kill('SIGTERM')).toBe(0);
      expect(proc.lines.some((l) => l.includes('"collector stopped"'))).toBe(true);
      for (const line of proc.lines) expect(() => JSON.parse(line)).not.toThrow();
      expect(proc.lines.join('\n')).not.toContain(adminToken);
    } finally {
      await proc.kill('SIGKILL');
    }
  });

  it('with SONGCHECK_WORKERS=2 serves from two processes and stops them all on SIGTERM', async () => {
    const port = await freePort();
    const proc = spawnNode(COLLECTOR_BIN, ['serve'], {
      SONGCHECK_DATA_DIR: dataDir,
      SONGCHECK_PORT: String(port),
      SONGCHECK_INFLUX_URL: inject('influxUrl'),
      SONGCHECK_INFLUX_DB: uniqueTestDb('collector_workers'),
      SONGCHECK_ADMIN_TOKEN: 'admin-token-0123456789',
      SONGCHECK_WORKERS: '2',
    });
    try {
      await proc.waitForLine(/"collector listening"/);
      const listening = () => proc.lines.filter((l) => l.includes('"collector listening"')).length;
      for (let i = 0; i < 100 && listening() < 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect(listening()).toBe(2);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(await proc.kill('SIGTERM')).toBe(0);
      expect(proc.lines.filter((l) => l.includes('"collector stopped"'))).toHaveLength(2);
    } finally {
      await proc.kill('SIGKILL');
    }
  });
});
