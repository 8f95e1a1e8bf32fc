// Known-answer verdicts: results go through the collector's real measurement route into the real
// InfluxDB, the engine judges them, and the API, the CSV and the stored `compliance` points must all give
// the same exact answers.
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, influxQuery, uniqueTestDb } from '../../test/support/influx-query.ts';
import { createApp } from '../app.ts';
import { createLogger } from '../logger.ts';
import { createTestCollector, type TestCollector } from '../../test/support/collector-app.ts';
import { parseCalendar } from '../school/calendar.ts';
import { ComplianceEngine } from './engine.ts';
import type { ComplianceRun } from './verdicts.ts';
import { parseProfiles } from '../school/profiles.ts';
import { runScheduledOnce, runScheduledPeriods } from './scheduler.ts';
import { outage, series, slot, tcp, throughput, vn } from './results.test-support.ts';
import { strongToken } from '../../test/support/secrets.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('compliance');
const NOW = vn('2026-11-30T12:00:00');
const REPORT_TOKEN = strongToken();
const ADMIN = strongToken();

const calendar = parseCalendar(`
timeZone: Asia/Ho_Chi_Minh
schoolYears: [{ name: "2026-2027", start: 2026-09-05, end: 2027-05-31 }]
hours: { mon: ["07:00-17:00"], tue: ["07:00-17:00"], wed: ["07:00-17:00"], thu: ["07:00-17:00"], fri: ["07:00-17:00"] }
closures: [{ from: 2026-11-20, name: "Ngày Nhà giáo (test holiday)" }]
`);
const profiles = parseProfiles(`
defaultProfile: t
profiles:
  t:
    description: test profile
    studentScaling: { aboveStudents: 400, mbpsPerStudent: 0.05 }
    criteria:
      - { id: download_median, metric: download_mbps, statistic: median, threshold: 20, scaleWithStudents: true, minSamples: 4, label: "median download" }
      - { id: download_share, metric: download_mbps, statistic: share_at_least, floor: 5, threshold: 75, minSamples: 4, label: "download tests ≥ 5 Mbit/s" }
      - { id: upload_median, metric: upload_mbps, statistic: median, threshold: 5, minSamples: 4 }
      - { id: rtt_p95, metric: rtt_ms, statistic: p95, threshold: 150, minSamples: 4, label: "95th percentile RTT" }
      - { id: uptime, metric: uptime_pct, statistic: ratio, threshold: 99, minSamples: 60, label: "uptime" }
sites:
  OVR: { students: 1000 }
`);

// Week 2026-W47: Monday 16 to Sunday 22 November; Friday 20 is a holiday, so 4 school days of 10 hours.
const MON = '2026-11-16';
const TUE = '2026-11-17';

/** Evidence that passes everything: split over two days so the verdict reads across school intervals. */
function good(download = [25, 25, 25, 25], rtt = [50, 50, 50, 50], slots = true) {
  const at = (i: number) => (i < 2 ? vn(`${MON}T09:00:00`) : vn(`${TUE}T14:00:00`)) + i * 60_000;
  return [
    ...download.map((m, i) => throughput(at(i), 'download', m)),
    ...[10, 10, 10, 10].map((m, i) => throughput(at(i) + 30_000, 'upload', m)),
    ...rtt.map((r, i) => tcp(at(i) + 10_000, r)),
    ...(slots ? series(vn(`${MON}T09:00:00`), 4, (t) => slot(t, 15, 15), 900_000) : []),
  ];
}

const SITES: Record<string, { students?: number; commune: string; operator: string; results: unknown[] }> = {
  EXACT: {
    commune: 'Bản Xèo',
    operator: 'viettel',
    results: [
      // median of 4, 20, 20, 30 is 20 (= threshold); 3 of 4 tests ≥ 5 is 75 % (= threshold); p95 of 50..150 is 150 (= limit)
      ...good([4, 20, 20, 30], [50, 60, 100, 150], false),
      // 99 of 100 checks = 99 % (= threshold)
      ...[25, 25, 25, 24].map((up, i) => slot(vn(`${MON}T09:00:00`) + i * 900_000, 25, up)),
    ],
  },
  FEW: { commune: 'Bản Xèo', operator: 'vnpt', results: good([25, 25, 25]) },
  OUTSIDE: {
    commune: 'Bát Xát',
    operator: 'vnpt',
    results: [
      ...good(),
      // bad evidence outside school hours, on Saturday and on the holiday: none of it may count
      ...[`${MON}T18:00:00`, `${TUE}T06:30:00`, '2026-11-21T10:00:00', '2026-11-20T10:00:00'].flatMap((t) => [
        throughput(vn(t), 'download', 1),
        throughput(vn(t) + 1000, 'upload', 0.5),
        tcp(vn(t) + 2000, 900),
        slot(vn(t), 15, 0),
      ]),
    ],
  },
  OFF: { commune: 'Bát Xát', operator: 'viettel', results: good() },
  DOWN: {
    commune: 'Bát Xát',
    operator: 'viettel',
    results: [
      ...good([25, 25, 25, 25], [50, 50, 50, 50], false),
      ...series(vn(`${MON}T09:00:00`), 8, (t, i) => slot(t, 15, i < 4 ? 15 : 0), 900_000),
      outage(vn(`${MON}T10:00:00`), vn(`${MON}T11:00:00`)),
      outage(vn(`${TUE}T16:30:00`), vn(`${TUE}T18:00:00`)), // 30 of its 90 minutes in school hours
      outage(vn(`${TUE}T08:00:00`), vn(`${TUE}T09:00:00`), 'collector_down'), // the school had Internet
    ],
  },
  // Tests the school's own network or its own traffic spoiled: left out of the operator's figures, and said so.
  FLAGGED: {
    commune: 'Y Tý',
    operator: 'mobifone',
    results: [
      ...good(),
      throughput(vn(`${TUE}T10:00:00`), 'download', 1, undefined, { lan_bottleneck: true, lan_reason: 'Wi-Fi link rate 6 Mbit/s at the time', lan_medium: 'wifi', lan_link_mbps: 6 }),
      throughput(vn(`${TUE}T11:00:00`), 'download', 1, undefined, { cross_traffic: true, cross_traffic_mbps: 4 }),
      tcp(vn(`${TUE}T10:05:00`), 900, { lanBottleneck: true }),
    ],
  },
  NODATA: { commune: 'Y Tý', operator: 'mobifone', results: [] },
  BIG: { students: 900, commune: 'Y Tý', operator: 'viettel', results: good([30, 30, 30, 30]) },
  OVR: { students: 100, commune: 'Y Tý', operator: 'viettel', results: good([48, 48, 48, 48]) },
};

let tc: TestCollector;
let app: ReturnType<typeof createApp>;
let engine: ComplianceEngine;

beforeAll(async () => {
  await createDb(influxUrl, db);
  tc = await createTestCollector({ influxUrl, db, clock: () => NOW });
  engine = new ComplianceEngine({ writer: tc.writer, registry: tc.registry, calendar, profiles, clock: () => NOW });
  app = createApp({ registry: tc.registry, writer: tc.writer, logger: createLogger('error', { write: () => {} }), clock: () => NOW, version: 't', adminToken: ADMIN, compliance: { engine, profiles, reportToken: REPORT_TOKEN } });
  // LC-001, the test collector's own site, has no evidence: INSUFFICIENT like NODATA.
  for (const [code, s] of Object.entries(SITES)) {
    await tc.registry.addSite({ code, name: `Điểm trường ${code}`, commune: s.commune, operator: s.operator, linkType: '4g', ...(s.students !== undefined ? { students: s.students } : {}) });
    const { token } = await tc.registry.enroll((await tc.registry.createEnrollmentCode(code)).code, { hostname: code });
    if (s.results.length === 0) continue;
    const res = await app.request('/api/v1/measurements', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ results: s.results }) });
    const body = (await res.json()) as { stored: number };
    expect(body.stored, `${code} stored`).toBe(s.results.length);
  }
});
afterAll(() => tc?.cleanup());

const EXPECTED: Record<string, string> = { EXACT: 'PASS', FEW: 'INSUFFICIENT', OUTSIDE: 'PASS', OFF: 'PASS', DOWN: 'FAIL', FLAGGED: 'PASS', NODATA: 'INSUFFICIENT', BIG: 'FAIL', OVR: 'FAIL', 'LC-001': 'INSUFFICIENT' };

const verdictsOf = (run: ComplianceRun) => Object.fromEntries(run.sites.map((s) => [s.site, s.verdict]));
const siteOf = (run: ComplianceRun, code: string) => run.sites.find((s) => s.site === code)!;
const crit = (run: ComplianceRun, code: string, id: string) => siteOf(run, code).criteria.find((c) => c.id === id)!;

describe('compliance verdicts on known evidence', () => {
  let run: ComplianceRun;
  beforeAll(async () => {
    run = await engine.evaluate(engine.period('2026-W47'));
  });

  it('gives the exact overall verdict for every site', async () => {
    expect(verdictsOf(run)).toEqual(EXPECTED);
    expect(run.sites.length).toBeGreaterThan(3);
    expect(run.counts).toEqual({ PASS: 4, FAIL: 3, INSUFFICIENT: 3 });
    expect(run.period).toMatchObject({ label: '2026-W47', kind: 'week', firstDate: MON, lastDate: '2026-11-22', complete: true });
  });

  it('judges a province larger than one pass in passes of sites, with the same verdicts and figures', async () => {
    const inPasses = await new ComplianceEngine({ writer: tc.writer, registry: tc.registry, calendar, profiles, clock: () => NOW, sitesPerPass: 3 }).evaluate(engine.period('2026-W47'));
    expect(inPasses.sites).toEqual(run.sites);
    expect(inPasses.counts).toEqual(run.counts);
  });

  it('passes a site exactly at every threshold', async () => {
    expect(crit(run, 'EXACT', 'download_median')).toMatchObject({ samples: 4, value: 20, threshold: 20, verdict: 'PASS', reason: '' });
    expect(crit(run, 'EXACT', 'download_share')).toMatchObject({ samples: 4, value: 75, verdict: 'PASS' });
    expect(crit(run, 'EXACT', 'rtt_p95')).toMatchObject({ samples: 4, value: 150, mean: 90, verdict: 'PASS' });
    expect(crit(run, 'EXACT', 'uptime')).toMatchObject({ samples: 100, value: 99, verdict: 'PASS' });
    expect(crit(run, 'EXACT', 'download_median').mean).toBe(18.5);
  });

  it('calls too few samples INSUFFICIENT, with the count in the reason', async () => {
    const c = crit(run, 'FEW', 'download_median');
    expect(c).toMatchObject({ samples: 3, minSamples: 4, verdict: 'INSUFFICIENT' });
    expect(c.reason).toBe('median download: only 3 download tests in school hours, at least 4 are needed for a verdict.');
    expect(crit(run, 'FEW', 'upload_median').verdict).toBe('PASS');
  });

  it('ignores evidence outside school hours, on weekends and on holidays', async () => {
    expect(crit(run, 'OUTSIDE', 'download_median')).toMatchObject({ samples: 4, value: 25 });
    expect(crit(run, 'OUTSIDE', 'rtt_p95')).toMatchObject({ samples: 4, value: 50 });
    expect(crit(run, 'OUTSIDE', 'uptime')).toMatchObject({ samples: 60, value: 100 });
    expect(siteOf(run, 'OUTSIDE').schoolHours).toBe(40);
  });

  it('tells a device switched off (missing slots) from a link down (failed checks and outages)', async () => {
    const off = siteOf(run, 'OFF');
    expect(off).toMatchObject({ verdict: 'PASS', uptimePct: 100, outageMinutes: 0, observedPct: 2.5 });
    const down = siteOf(run, 'DOWN');
    expect(down).toMatchObject({ verdict: 'FAIL', uptimePct: 50, outageMinutes: 90, observedPct: 5 });
    expect(down.reasons).toEqual(['uptime was 50 % over 120 connectivity checks, below the required 99 %.']);
  });

  it('leaves out tests flagged for the school’s LAN or cross traffic, and says why in the reasons', async () => {
    expect(crit(run, 'FLAGGED', 'download_median')).toMatchObject({ samples: 4, value: 25, verdict: 'PASS' });
    expect(crit(run, 'FLAGGED', 'rtt_p95')).toMatchObject({ samples: 4, value: 50 });
    expect(siteOf(run, 'FLAGGED').reasons).toEqual([
      "1 throughput test left out because the school's own network was the likely bottleneck (Wi-Fi link rate 6 Mbit/s at the time): the school's network, not the operator.",
      '1 throughput test left out because the line was in use by the school during the test (cross traffic).',
      "1 latency run left out because the school's router alone took most of the round trip: the school's network, not the operator.",
    ]);
  });

  it('calls a site with no data at all INSUFFICIENT on every criterion', async () => {
    const s = siteOf(run, 'NODATA');
    expect(s.criteria.every((c) => c.verdict === 'INSUFFICIENT' && c.samples === 0 && c.value === undefined)).toBe(true);
    expect(s.reasons).toHaveLength(5);
    expect(s.outageMinutes).toBe(0);
    expect(s.observedPct).toBe(0);
  });

  it('raises the download threshold with the student count, from the registry or the profiles file', async () => {
    expect(crit(run, 'BIG', 'download_median')).toMatchObject({ threshold: 45, value: 30, verdict: 'FAIL' });
    expect(crit(run, 'BIG', 'download_median').reason).toBe('median download was 30 Mbit/s over 4 download tests, below the required 45 Mbit/s (raised for the student count).');
    expect(siteOf(run, 'OVR')).toMatchObject({ students: 1000, verdict: 'FAIL' });
    expect(crit(run, 'OVR', 'download_median')).toMatchObject({ threshold: 50, value: 48 });
  });

  it('has no school hours on a holiday: INSUFFICIENT for everyone, whatever was measured', async () => {
    const day = await engine.evaluate(engine.period('2026-11-20'));
    expect(siteOf(day, 'OUTSIDE')).toMatchObject({ verdict: 'INSUFFICIENT', schoolHours: 0 });
    expect(crit(day, 'OUTSIDE', 'download_median').reason).toMatch(/no school hours/);
    const monday = await engine.evaluate(engine.period(MON), { sites: ['OUTSIDE'] });
    expect(monday.sites.map((s) => s.site)).toEqual(['OUTSIDE']);
    expect(crit(monday, 'OUTSIDE', 'download_median')).toMatchObject({ samples: 2, value: 25 });
  });

  it('stores the same verdicts as compliance points, and overwrites them when recomputed', async () => {
    const p = engine.period('2026-W47');
    await engine.run(p);
    const stored = await engine.run(p);
    expect(stored.pointsWritten).toBe(10 * 6);
    const rows = await influxQuery(influxUrl, db, `SELECT verdict, verdict_code, outage_minutes, uptime_pct FROM compliance WHERE period = '2026-W47' AND criterion = 'overall' GROUP BY site`);
    expect(Object.fromEntries(rows.map((r) => [r.tags.site, r.verdict]))).toEqual(EXPECTED);
    expect(rows.every((r) => r.time === p.start)).toBe(true);
    expect(rows.find((r) => r.tags.site === 'DOWN')).toMatchObject({ verdict_code: 0, outage_minutes: 90, uptime_pct: 50 });
    const big = await influxQuery(influxUrl, db, `SELECT * FROM compliance WHERE site = 'BIG' AND criterion = 'download_median' GROUP BY *`);
    expect(big).toHaveLength(1);
    expect(big[0]).toMatchObject({ verdict: 'FAIL', verdict_code: 0, samples: 4, min_samples: 4, value: 30, mean: 30, threshold: 45 });
    expect(big[0]!.tags).toMatchObject({ site: 'BIG', commune: 'Y Tý', operator: 'viettel', link_type: '4g', profile: 't', period_kind: 'week', period: '2026-W47' });
  });
});

describe('scheduled run', () => {
  it('stores yesterday, its ISO week, its month and rolling30', async () => {
    expect(await runScheduledPeriods(engine, vn('2026-11-18T00:30:00'))).toBe(0);
    const rows = await influxQuery(influxUrl, db, `SELECT verdict FROM compliance WHERE site = 'DOWN' AND criterion = 'overall' GROUP BY period, period_kind`);
    const got = Object.fromEntries(rows.map((r) => [`${r.tags.period_kind}:${r.tags.period}`, r.verdict]));
    // Tuesday alone has 2 download tests and no uptime slots: too little for a day verdict.
    expect(got).toMatchObject({ 'day:2026-11-17': 'INSUFFICIENT', 'week:2026-W47': 'FAIL', 'month:2026-11': 'FAIL', 'rolling30:rolling30': 'FAIL' });
    // rolling30 is stamped at midnight of the day it was computed
    expect(rows.find((r) => r.tags.period === 'rolling30')!.time).toBe(vn('2026-11-18T00:00:00'));
  });
});

describe('scheduled run across collector processes', () => {
  it('runs once when two fire together, not again from a clock 10 min behind, and again the next night', async () => {
    let t = vn('2026-11-18T00:30:00');
    const clock = () => t;
    // Two holders of the one store stand for two collectors (the lease is one atomic upsert on both backends).
    const a = { store: tc.registry.store, holder: 'collector-a' };
    const b = { store: tc.registry.store, holder: 'collector-b' };
    const both = await Promise.all([runScheduledOnce(engine, a, clock), runScheduledOnce(engine, b, clock)]);
    expect(both.filter((r) => r === 0)).toHaveLength(1);
    expect(both.filter((r) => r === undefined)).toHaveLength(1);
    const other = both[0] === 0 ? b : a;
    t += 10 * 60_000;
    expect(await runScheduledOnce(engine, other, clock)).toBeUndefined();
    t = vn('2026-11-19T00:30:00');
    expect(await runScheduledOnce(engine, other, clock)).toBe(0);
  });
});

describe('compliance API', () => {
  const get = (path: string, token = REPORT_TOKEN) => app.request(path, { headers: { authorization: `Bearer ${token}` } });

  it('answers the same verdicts as JSON, for all sites and for one', async () => {
    const res = await get('/api/v1/compliance?period=2026-W47');
    expect(res.status).toBe(200);
    expect(verdictsOf((await res.json()) as ComplianceRun)).toEqual(EXPECTED);
    const one = (await (await get('/api/v1/sites/DOWN/compliance?period=2026-W47')).json()) as ComplianceRun;
    expect(one.sites).toHaveLength(1);
    expect(one.sites[0]).toMatchObject({ site: 'DOWN', verdict: 'FAIL', outageMinutes: 90 });
    expect((await get('/api/v1/sites/NOPE/compliance?period=2026-W47')).status).toBe(404);
  });

  it('answers the same verdicts as CSV', async () => {
    const res = await get('/api/v1/compliance?period=2026-W47&format=csv&bom=0');
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    const rows = parseCsv(await res.text(), { columns: true }) as Record<string, string>[];
    const overall = rows.filter((r) => r.criterion === 'overall');
    expect(Object.fromEntries(overall.map((r) => [r.site, r.verdict]))).toEqual(EXPECTED);
    expect(rows.find((r) => r.site === 'BIG' && r.criterion === 'download_median')).toMatchObject({ verdict: 'FAIL', value: '30', threshold: '45', samples: '4' });
  });

  it('renders the province report in Vietnamese and English', async () => {
    const vi = await (await get('/api/v1/compliance/report?period=2026-W47')).text();
    expect(vi).toContain('<html lang="vi">');
    expect(vi).toContain('KHÔNG ĐẠT');
    expect(vi).toContain('uptime was 50 % over 120 connectivity checks');
    expect(vi).toContain('Bát Xát');
    const en = await (await get('/api/v1/compliance/report?period=2026-W47&lang=en')).text();
    expect(en).toContain('Failing sites and why');
  });

  it('validates the period and says what it expects', async () => {
    const bad = await get('/api/v1/compliance?period=2026-13');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('month must be 01-12');
    const none = await get('/api/v1/compliance');
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(/period is required: a day \(2026-11-24\)/);
    expect((await get('/api/v1/compliance?period=2027-01')).status).toBe(400); // not started yet
    expect((await get('/api/v1/compliance?period=2026-W47&extra=1')).status).toBe(400);
  });

  it('needs the reporting or admin token to read, and the admin token to recompute', async () => {
    expect((await app.request('/api/v1/compliance?period=2026-W47')).status).toBe(401);
    expect((await get('/api/v1/compliance?period=2026-W47', 'wrong-token-xxxxxxxx')).status).toBe(401);
    expect((await get('/api/v1/compliance?period=2026-W47', ADMIN)).status).toBe(200);
    const denied = await app.request('/api/v1/compliance/run?period=2026-11-16', { method: 'POST', headers: { authorization: `Bearer ${REPORT_TOKEN}` } });
    expect(denied.status).toBe(403);
    const ran = await app.request('/api/v1/compliance/run?period=2026-11-16', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(ran.status).toBe(200);
    expect(await ran.json()).toMatchObject({ sites: 10, pointsWritten: 60 });
  });
});
