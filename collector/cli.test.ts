// The real bin as a child process: registry commands with only SONGCHECK_DATA_DIR set, usage errors
// (one line, exit 2), and `serve` stopping cleanly on SIGTERM.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../scripts/free-port.ts';
import { uniqueTestDb } from '../test/support/influx-query.ts';
import { cleanEnv, COLLECTOR_BIN, REPO_ROOT, spawnNode } from '../test/support/processes.ts';
import { Registry } from './registry/registry.ts';
import { strongToken } from '../test/support/secrets.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-cli-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** Runs the bin with a clean SONGCHECK_* environment: stdout and stderr kept apart. */
function cli(args: string[], env: Record<string, string> = {}) {
  const clean = cleanEnv();
  const r = spawnSync(process.execPath, [COLLECTOR_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...clean, SONGCHECK_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('songcheck-collector registry commands', () => {
  it('adds a site with every option and lists it', async () => {
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

  it('prints an enrollment code alone on stdout, with the agent command as a hint on stderr', async () => {
    const r = cli(['enroll-code', '--site', 'LC-001', '--uses', '2', '--ttl-days', '7'], { SONGCHECK_PUBLIC_URL: 'https://songcheck.example.vn' });
    expect(r.code).toBe(0);
    const code = r.stdout.trim();
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(r.stderr).toContain(`songcheck-agent enroll --collector https://songcheck.example.vn --code ${code}`);
    const registry = await Registry.open(dataDir);
    try {
      expect((await registry.enroll(code)).site.code).toBe('LC-001');
    } finally {
      await registry.close();
    }
  });

  it.each([
    [['sites', 'add', '--code', 'LC-002', '--name', 'X', '--link-type', '2g'], /^songcheck-collector: --link-type: must be one of 4g, 3g, 5g, fibre, adsl, other\n$/],
    [['sites', 'add', '--code', 'LC-002', '--name', 'X', '--lat', '22.5'], /^songcheck-collector: --lat: give --lat and --lon together\n$/],
    [['sites', 'add', '--name', 'X', '--bogus', 'y'], /^songcheck-collector: Unknown option '--bogus'.*\n$/],
    [['sites', 'add', '--code', 'bad code!', '--name', 'X'], /^songcheck-collector: --code: must be 1-64 characters.*\n$/],
    [['enroll-code', '--site', 'LC-001', '--uses', 'two'], /^songcheck-collector: --uses: must be a whole number\n$/],
    [['enroll-code'], /^songcheck-collector: --site is required \(or --group, --commune or --all\)\n$/],
    [['frobnicate'], /^songcheck-collector: unknown command "frobnicate"; run "songcheck-collector help"\n$/],
  ])('rejects bad arguments %j with one line on stderr and exit 2', (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('exits 1 with one line when the registry refuses', async () => {
    expect(cli(['sites', 'add', '--code', 'LC-001', '--name', 'Again'])).toMatchObject({ code: 1, stderr: 'songcheck-collector: site LC-001 already exists\n' });
    expect(cli(['enroll-code', '--site', 'LC-404'])).toMatchObject({ code: 1, stderr: 'songcheck-collector: no site with code LC-404; add it first\n' });
  });

  it('prints help', async () => {
    expect(cli(['help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('sites add --code CODE --name NAME') });
  });
});

describe('songcheck-collector sites import, export and edit', () => {
  const sample = path.join(REPO_ROOT, 'collector/sites.sample.csv');

  it('dry-runs, imports, re-imports without change, and exports the same format', async () => {
    const dry = cli(['sites', 'import', sample, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('line 2  LC-0001  created');
    expect(dry.stdout.trim().split('\n').at(-1)).toBe('dry run: 6 would be created, 0 would be updated, 0 unchanged, 0 invalid; nothing was written');
    expect(cli(['sites', 'import', sample]).stdout.trim().split('\n').at(-1)).toBe('imported: 6 created, 0 updated, 0 unchanged, 0 invalid');
    expect(cli(['sites', 'import', sample]).stdout.trim().split('\n').at(-1)).toBe('imported: 0 created, 0 updated, 6 unchanged, 0 invalid');
    const exported = path.join(dataDir, 'export.csv');
    expect(cli(['sites', 'export', '--out', exported])).toMatchObject({ code: 0, stderr: expect.stringMatching(/^wrote \d+ site\(s\) to /) });
    expect(fs.readFileSync(exported, 'utf8').startsWith('\uFEFFcode,name,commune,province,operator,link_type,latitude,longitude,students,groups,profile,notes\r\n')).toBe(true);
    expect(cli(['sites', 'import', exported]).stdout).toMatch(/imported: 0 created, 0 updated, \d+ unchanged, 0 invalid\n$/);
  });

  it('names each bad row, imports none of them (exit 1), or the good ones with --allow-partial (exit 0)', async () => {
    const bad = path.join(dataDir, 'bad.csv');
    fs.writeFileSync(bad, 'code,name,link_type\nLC-0100,Trường mới,4g\nLC-0101,Trường lỗi,2g\n');
    const refused = cli(['sites', 'import', bad]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('line 3  LC-0101  invalid: link_type: must be one of 4g, 3g, 5g, fibre, adsl, other');
    expect(cli(['sites', 'list', '--json']).stdout).not.toContain('LC-0100');
    expect(cli(['sites', 'import', bad, '--allow-partial'])).toMatchObject({ code: 0, stdout: expect.stringContaining('imported: 1 created, 0 updated, 0 unchanged, 1 invalid (skipped)') });
    fs.writeFileSync(bad, 'code,nam\nX,Y\n');
    expect(cli(['sites', 'import', bad])).toMatchObject({ code: 1, stderr: expect.stringMatching(/unknown column "nam" in the header/) });
    expect(cli(['sites', 'import', path.join(dataDir, 'missing.csv')])).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read .*missing\.csv: ENOENT/) });
  });

  it('edits a site and clears fields', async () => {
    expect(cli(['sites', 'edit', '--code', 'LC-0002', '--students', '430', '--clear', 'groups', '--notes', 'Cột 4G mới'])).toMatchObject({
      code: 0, stdout: 'updated site LC-0002: students, groups, notes\n',
    });
    expect(cli(['sites', 'edit', '--code', 'LC-0002', '--students', '430']).stdout).toBe('site LC-0002 unchanged\n');
    expect(cli(['sites', 'edit', '--code', 'LC-0002', '--clear', 'name'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^songcheck-collector: --clear\[0\]: must be one of/) });
    expect(cli(['sites', 'edit', '--code', 'LC-404', '--students', '1'])).toMatchObject({ code: 1, stderr: 'songcheck-collector: no site with code LC-404\n' });
  });
});

describe('songcheck-collector enrollment sheets, codes and devices', () => {
  it('writes a printable sheet and a codes CSV for a group of sites', async () => {
    const sheet = path.join(dataDir, 'sheets.html');
    const codes = path.join(dataDir, 'codes.csv');
    const r = cli(['enroll-code', '--group', 'huyện cũ:Bát Xát', '--ttl-days', '14', '--sheet', sheet, '--codes-csv', codes], { SONGCHECK_PUBLIC_URL: 'https://songcheck.example.vn' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^created 2 enrollment code\(s\), valid until \d\d\/\d\d\/\d{4} for 1 device\(s\) each; wrote .*sheets\.html \(printable sheets\) and .*codes\.csv \(codes as CSV\)\n$/);
    const html = fs.readFileSync(sheet, 'utf8');
    expect(html.match(/<section class="sheet">/g)).toHaveLength(2); // LC-0001 and LC-0005 (LC-0002's labels were cleared above)
    expect(html).toContain('songcheck-agent enroll --collector https://songcheck.example.vn --code ');
    const rows = fs.readFileSync(codes, 'utf8').trim().split('\r\n');
    expect(rows).toHaveLength(3);
    const firstCode = rows[1]!.split(',')[3]!;
    expect(html).toContain(`<div class="code">${firstCode}</div>`);
    expect(cli(['enroll-code', '--all'])).toMatchObject({ code: 2, stderr: expect.stringContaining('for more than one site give --sheet FILE') });
    expect(cli(['enroll-code', '--site', 'LC-0001', '--all', '--sheet', sheet])).toMatchObject({ code: 2 });
  });

  it('lists and withdraws codes, lists, revokes and moves devices, and shows the audit log', async () => {
    const listed = cli(['codes', 'list', '--site', 'LC-0001', '--json']);
    const codes = JSON.parse(listed.stdout) as { id: string; status: string }[];
    expect(codes.length).toBeGreaterThan(0);
    expect(cli(['codes', 'revoke', '--id', codes[0]!.id]).stdout).toBe(`withdrew enrollment code ${codes[0]!.id}\n`);
    expect(cli(['codes', 'revoke', '--id', 'ec_0000000000000000'])).toMatchObject({ code: 1 });

    const registry = await Registry.open(dataDir);
    let a: string;
    let b: string;
    try {
      const code = (await registry.createEnrollmentCode('LC-0001', { uses: 2 })).code;
      a = (await registry.enroll(code, { fingerprint: 'e'.repeat(32), hostname: 'PC-LAB' })).deviceId;
      b = (await registry.enroll(code, { fingerprint: 'e'.repeat(32), hostname: 'PC-LAB' })).deviceId;
    } finally {
      await registry.close();
    }
    const table = cli(['devices', 'list', '--site', 'LC-0001']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+SITE\s+HOSTNAME\s+LAST SEEN \(UTC\)\s+VERSION\s+PLATFORM\s+FINGERPRINT\s+FLAGS$/);
    expect(table.stdout).toMatch(new RegExp(`${a}\\s+LC-0001\\s+PC-LAB.*DUPLICATE-FINGERPRINT`));
    expect((JSON.parse(cli(['devices', 'list', '--duplicates', '--json']).stdout) as { id: string }[]).map((d) => d.id)).toEqual([a, b]);
    expect(cli(['devices', 'revoke', '--id', a, '--reason', 're-imaged']).stdout).toBe(`revoked device ${a}; its token is refused from now on\n`);
    expect(cli(['devices', 'revoke', '--id', a]).stdout).toBe(`device ${a} was already revoked\n`);
    expect(JSON.parse(cli(['devices', 'list', '--duplicates', '--json']).stdout)).toEqual([]);
    expect(cli(['devices', 'move', '--id', b, '--site', 'LC-0002']).stdout).toBe(`moved device ${b} from LC-0001 to LC-0002\n`);
    expect(cli(['devices', 'move', '--id', b, '--site', 'LC-404'])).toMatchObject({ code: 1, stderr: 'songcheck-collector: no site with code LC-404\n' });
    expect(cli(['devices', 'revoke'])).toMatchObject({ code: 2, stderr: 'songcheck-collector: --id is required\n' });
    const audit = cli(['audit', '--subject', b]);
    expect(audit.stdout).toMatch(/cli \S+\s+device\.move\s+dev_/);
    expect(JSON.parse(cli(['audit', '--json', '--limit', '5']).stdout)).toHaveLength(5);
  }, 180_000); // a dozen CLI processes, each loading TypeScript through tsx: minutes on a loaded two-core machine
});

describe('songcheck-collector serve', () => {
  it('lists every configuration problem and exits 2', async () => {
    const r = cli(['serve'], { SONGCHECK_PORT: 'eighty', SONGCHECK_INFLUX_PASSWORD: 'secret-pass' });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      'songcheck-collector: invalid configuration:',
      '  SONGCHECK_PORT: must be an integer between 0 and 65535',
      '  SONGCHECK_INFLUX_URL: required (e.g. http://127.0.0.1:8086)',
      '  SONGCHECK_ADMIN_TOKEN: required; generate one with `openssl rand -hex 32`',
      '  SONGCHECK_TEST_TOKEN_KEY: required (signs ndt7 test tokens); generate one with `openssl rand -hex 32`',
      '  SONGCHECK_INFLUX_USER: required when SONGCHECK_INFLUX_PASSWORD is set',
    ]);
    expect(r.stderr).not.toContain('secret-pass');
  });

  it('serves, logs JSON without secrets, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const adminToken = strongToken();
    const testTokenKey = strongToken();
    const proc = spawnNode(COLLECTOR_BIN, ['serve'], {
      SONGCHECK_DATA_DIR: dataDir,
      SONGCHECK_PORT: String(port),
      SONGCHECK_INFLUX_URL: inject('influxUrl'),
      SONGCHECK_INFLUX_DB: uniqueTestDb('collector_cli'),
      SONGCHECK_ADMIN_TOKEN: adminToken,
      SONGCHECK_TEST_TOKEN_KEY: testTokenKey,
    });
    try {
      await proc.waitForLine(/"collector listening"/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(await proc.kill('SIGTERM')).toBe(0);
      expect(proc.lines.some((l) => l.includes('"collector stopped"'))).toBe(true);
      for (const line of proc.lines) expect(() => JSON.parse(line)).not.toThrow();
      expect(proc.lines.join('\n')).not.toContain(adminToken);
      expect(proc.lines.join('\n')).not.toContain(testTokenKey);
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
      SONGCHECK_ADMIN_TOKEN: strongToken(),
      SONGCHECK_TEST_TOKEN_KEY: strongToken(),
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
