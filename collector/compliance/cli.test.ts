// `songcheck-collector report` and `compliance run` as child processes against the real InfluxDB.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, influxQuery, uniqueTestDb } from '../../test/support/influx-query.ts';
import { cleanEnv, COLLECTOR_BIN, REPO_ROOT } from '../../test/support/processes.ts';
import { Registry } from '../registry/registry.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('compliance_cli');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-compliance-cli-'));

function cli(args: string[], env: Record<string, string> = {}) {
  const clean = cleanEnv();
  const r = spawnSync(process.execPath, [COLLECTOR_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...clean, SONGCHECK_DATA_DIR: dataDir, SONGCHECK_INFLUX_URL: influxUrl, SONGCHECK_INFLUX_DB: db, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  await createDb(influxUrl, db);
  const registry = await Registry.open(dataDir);
  await registry.addSite({ code: 'LC-A', name: 'Điểm trường A', commune: 'Bản Xèo', operator: 'viettel', linkType: '4g' });
  await registry.addSite({ code: 'LC-B', name: 'Điểm trường B', commune: 'Y Tý', operator: 'vnpt', linkType: '5g' });
  await registry.close();
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('songcheck-collector report and compliance run', () => {
  it('writes the verdicts as CSV, JSON and HTML', async () => {
    const csv = cli(['report', '--period', '2026-11-16', '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const rows = parseCsv(csv.stdout, { columns: true, bom: true }) as Record<string, string>[];
    expect(rows.filter((r) => r.criterion === 'overall').map((r) => [r.site, r.profile, r.verdict])).toEqual([
      ['LC-A', '4g-school', 'INSUFFICIENT'],
      ['LC-B', '5g-school', 'INSUFFICIENT'],
    ]);
    expect(csv.stderr).toContain('2026-11-16: 2 sites, 0 PASS, 0 FAIL, 2 INSUFFICIENT');
    const json = cli(['report', '--period', '2026-W47', '--site', 'LC-B']);
    expect(JSON.parse(json.stdout)).toMatchObject({ period: { label: '2026-W47', kind: 'week' }, sites: [{ site: 'LC-B' }] });
    const out = path.join(dataDir, 'report.html');
    expect(cli(['report', '--period', '2026-11', '--format', 'html', '--lang', 'en', '--out', out]).code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toContain('Broadband compliance report for school sites');
  });

  it('stores compliance points on demand', async () => {
    const r = cli(['compliance', 'run', '--period', '2026-11-16']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2026-11-16: 2 sites');
    const rows = await influxQuery(influxUrl, db, `SELECT count(verdict_code) FROM compliance WHERE period = '2026-11-16' GROUP BY site`);
    // 4g-school and 5g-school each have 8 criteria and 2 informational readiness ones, plus overall
    expect(rows.map((x) => [x.tags.site, x.count])).toEqual([['LC-A', 11], ['LC-B', 11]]);
  });

  it('refuses a bad period or a bad calendar with exit code 2 and a line to act on', async () => {
    const bad = cli(['report', '--period', '2026-W54']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('2026 has no ISO week 54');
    const missing = cli(['report']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--period: period is required');
    const unknown = cli(['report', '--period', '2026-11', '--site', 'LC-ZZZ']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--site: no such site: LC-ZZZ');
    const calendar = path.join(dataDir, 'calendar.yaml');
    fs.writeFileSync(calendar, 'schoolYears: []\nhours: {}\n');
    const r = cli(['report', '--period', '2026-11'], { SONGCHECK_CALENDAR_FILE: calendar });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${calendar}: invalid school calendar`);
    expect(r.stderr).toContain('schoolYears');
  });
});
