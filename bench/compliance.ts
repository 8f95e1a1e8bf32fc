// Compliance bench: monthly verdicts for a province. A month (November 2026) of data at the agent's
// default schedule — TCP-connect every 5 min and an uptime slot every 15 min around the clock, 4 throughput
// tests per direction on school days — is written straight into InfluxDB with the client's Point (this
// is the bench, not a test), in steps of sites (250, 500, 1000, 2000), and after each step the engine
// computes and stores every site's monthly verdicts. References measured on the same data in the same run:
// one InfluxQL count over the month, GROUP BY site, and one median over the month without school hours.
// BENCH_COMPLIANCE_SITES (default 2000) scales the dataset: BENCH_COMPLIANCE_SITES=100 is a quick run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Point } from '@influxdata/influxdb-client';
import { startInfluxd } from '../scripts/influxd-server.ts';
import { getDefaultCalendar } from '../collector/compliance/calendar.ts';
import { ComplianceEngine } from '../collector/compliance/engine.ts';
import { getDefaultProfiles } from '../collector/compliance/profiles.ts';
import { createInfluxWriter, type InfluxWriter } from '../collector/influx/writer.ts';
import { Registry } from '../collector/registry/registry.ts';
import { seededRandom } from '../scripts/seeded-random.ts';

const MONTH = '2026-11';
const MONTH_START = Date.parse('2026-11-01T00:00:00+07:00');
const DAYS = 30;
const NOW = Date.parse('2026-12-01T01:00:00+07:00');
const BATCH = 10_000;
const MEDIAN_REFERENCE_MAX_SITES = 500;

export interface ComplianceStep {
  sites: number;
  points: number;
  writeS: number;
  /** Engine: every site's monthly verdicts computed and stored. */
  runS: number;
  queryS: number;
  countS: number;
  medianS?: number;
  counts: Record<string, number>;
}


const code = (i: number) => `LC-${String(i).padStart(4, '0')}`;
const COMMUNES = ['Bản Xèo', 'Bát Xát', 'Y Tý', 'Sa Pa', 'Bắc Hà', 'Mường Khương', 'Si Ma Cai', 'Văn Bàn'];
const OPERATORS = ['viettel', 'vnpt', 'mobifone'];

function siteTags(i: number) {
  return { site: code(i), device: `dev_${i.toString(16).padStart(32, '0')}`, commune: COMMUNES[i % COMMUNES.length]!, operator: OPERATORS[i % OPERATORS.length]!, link_type: '4g' };
}

/** Every point of one site's month, as the agent's default schedule would make them. */
function* sitePoints(i: number): Generator<Point> {
  const r = seededRandom(i + 1);
  const tags = siteTags(i);
  const quality = 0.5 + r() * 1.5; // some sites are good, some are not
  const tag = (p: Point) => {
    for (const [k, v] of Object.entries(tags)) p.tag(k, v);
    return p;
  };
  let id = 0;
  for (let d = 0; d < DAYS; d++) {
    const day = MONTH_START + d * 86_400_000;
    const weekday = new Date(day + 7 * 3_600_000).getUTCDay();
    for (let m = 0; m < 1440; m += 5) {
      const rtt = 30 + r() * 60 / quality;
      const loss = r() < 0.03 ? 10 : 0;
      yield tag(new Point('latency'))
        .tag('method', 'tcp_connect').tag('target', 'collector.example.vn:443').tag('code', loss ? 'partial' : 'ok')
        .floatField('sent', 10).floatField('received', 10 - loss / 10).floatField('loss_pct', loss)
        .floatField('rtt_median_ms', Math.round(rtt * 1000) / 1000).floatField('jitter_ms', Math.round(r() * 20000) / 1000)
        .stringField('result_id', `r${i}-${id++}`)
        .timestamp(day + m * 60_000 + Math.floor(r() * 120_000));
    }
    for (let m = 0; m < 1440; m += 15) {
      const checks = 15;
      const up = r() < 0.995 ? 15 : Math.floor(r() * 15);
      yield tag(new Point('uptime'))
        .tag('method', 'connectivity_check').tag('target', 'link').tag('code', 'ok')
        .floatField('checks', checks).floatField('checks_up', up).floatField('checks_collector_down', 0).floatField('checks_dns_down', 0)
        .floatField('checks_link_down', checks - up).floatField('observed_s', 900).floatField('up_s', (900 * up) / checks)
        .stringField('result_id', `r${i}-${id++}`)
        .timestamp(day + m * 60_000);
    }
    if (weekday === 0 || weekday === 6) continue;
    for (let t = 0; t < 4; t++) {
      const at = day + (7.5 + t * 2.25) * 3_600_000 + Math.floor(r() * 600_000);
      for (const direction of ['download', 'upload'] as const) {
        const mbps = (direction === 'download' ? 22 : 6) * quality * (0.5 + r());
        yield tag(new Point('throughput'))
          .tag('method', 'ndt7').tag('target', 'http://collector.example.vn').tag('code', 'ok').tag('direction', direction)
          .floatField('mbps', Math.round(mbps * 1000) / 1000).floatField('bytes', 2e7).floatField('duration_ms', 8000)
          .stringField('result_id', `r${i}-${id++}`)
          .timestamp(at + (direction === 'upload' ? 15_000 : 0));
      }
    }
  }
}

/** Writes sites [from, to) with two requests in flight. */
export async function writeSites(writer: InfluxWriter, from: number, to: number): Promise<number> {
  let batch: Point[] = [];
  let total = 0;
  const inFlight = new Set<Promise<void>>();
  const flush = async () => {
    const p = writer.write(batch).finally(() => inFlight.delete(p));
    inFlight.add(p);
    total += batch.length;
    batch = [];
    if (inFlight.size >= 2) await Promise.race(inFlight);
  };
  for (let i = from; i < to; i++) {
    for (const p of sitePoints(i)) {
      batch.push(p);
      if (batch.length >= BATCH) await flush();
    }
  }
  if (batch.length) await flush();
  await Promise.all(inFlight);
  return total;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, (performance.now() - t0) / 1000];
}

export async function benchCompliance(): Promise<ComplianceStep[]> {
  const max = Number(process.env.BENCH_COMPLIANCE_SITES ?? 2000);
  if (!Number.isInteger(max) || max < 1 || max > 50_000) throw new Error('BENCH_COMPLIANCE_SITES must be a whole number from 1 to 50000');
  const steps = [...new Set([250, 500, 1000, 2000].filter((n) => n < max).concat(max))].sort((a, b) => a - b);
  const influx = await startInfluxd({ databases: ['bench'] });
  const dir = mkdtempSync(join(tmpdir(), 'songcheck-bench-compliance-'));
  const registry = Registry.open(dir);
  try {
    const writer = createInfluxWriter({ url: influx.url, database: 'bench', timeoutMs: 600_000 });
    const engine = new ComplianceEngine({ writer, registry, calendar: getDefaultCalendar(), profiles: getDefaultProfiles(), clock: () => NOW });
    const period = engine.period(MONTH);
    const range = `time >= ${MONTH_START}ms AND time < ${MONTH_START + DAYS * 86_400_000}ms`;
    const out: ComplianceStep[] = [];
    let written = 0;
    let points = 0;
    for (const n of steps) {
      for (let i = written; i < n; i++) {
        const t = siteTags(i);
        registry.addSite({ code: t.site, name: `Điểm trường ${i}`, commune: t.commune, operator: t.operator, linkType: '4g', students: i % 10 === 0 ? 800 : 200 });
      }
      const [added, writeS] = await timed(() => writeSites(writer, written, n));
      points += added;
      written = n;
      const [, countS] = await timed(() => writer.query(`SELECT count(rtt_median_ms) FROM latency WHERE ${range} GROUP BY site`));
      // InfluxDB's own median over the whole month (no school hours) is slow; it is shown up to 500 sites only.
      const medianS = n <= MEDIAN_REFERENCE_MAX_SITES ? (await timed(() => writer.query(`SELECT median(rtt_median_ms), percentile(rtt_median_ms, 95) FROM latency WHERE ${range} GROUP BY site`)))[1] : undefined;
      const [run, runS] = await timed(() => engine.run(period));
      out.push({ sites: n, points, writeS, runS, queryS: run.queryMs / 1000, countS, medianS, counts: run.counts });
      console.log(`[bench] compliance ${n} sites: ${points} points written in ${writeS.toFixed(1)} s; run ${runS.toFixed(2)} s (queries ${(run.queryMs / 1000).toFixed(2)} s); count ${countS.toFixed(2)} s, median ${medianS?.toFixed(2) ?? '-'} s`);
    }
    return out;
  } finally {
    registry.close();
    rmSync(dir, { recursive: true, force: true });
    await influx.stop();
  }
}

export function complianceReport(steps: ComplianceStep[]): string {
  const last = steps[steps.length - 1]!;
  const f = (x: number) => x.toFixed(2);
  return [
    '## Compliance: monthly verdicts for a province',
    '',
    `November 2026 (${DAYS} days, 21 school days) at the agent's default schedule: per site ${Math.round(last.points / last.sites)} points (TCP-connect every 5 min and an uptime slot every 15 min around the clock, 4 throughput tests per direction on school days), written with the client's Point. The run computes every site's 8 criteria of the default 4G profile over school hours (one request per school day: the rows of throughput and TCP-connect runs, and InfluxDB's sums of the uptime slots) and stores the \`compliance\` points. References on the same data: one \`count()\` and one \`median()\`+\`percentile()\` over the whole month, GROUP BY site.`,
    '',
    '| sites | points in InfluxDB | engine run (s) | of which InfluxQL (s) | count() over the month, reference (s) | median+p95 over the month (s) | run / count | verdicts PASS / FAIL / INSUFFICIENT |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...steps.map((s) => `| ${s.sites} | ${s.points} | ${f(s.runS)} | ${f(s.queryS)} | ${f(s.countS)} | ${s.medianS === undefined ? '–' : f(s.medianS)} | **${(s.runS / s.countS).toFixed(1)}** | ${s.counts.PASS} / ${s.counts.FAIL} / ${s.counts.INSUFFICIENT} |`),
    '',
    `Growth: ${steps.map((s) => `${f(s.runS / s.sites * 1000)} ms`).join(', ')} per site at ${steps.map((s) => s.sites).join(', ')} sites.`,
    last.sites >= 2000
      ? `Goal: 2000 sites in under 60 s: ${last.runS < 60 ? 'met' : 'NOT met'} (${f(last.runS)} s).`
      : `Goal (2000 sites in under 60 s): not measured, this run stopped at ${last.sites} sites (BENCH_COMPLIANCE_SITES).`,
  ].join('\n');
}
