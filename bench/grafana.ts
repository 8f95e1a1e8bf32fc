// Grafana: the province overview's queries over 30 days for provinces of 250 and 2 000 sites (10 000 with
// BENCH_GRAFANA_SITES=10000), each run as Grafana sends it (macros and variables substituted; "All" is `.*`),
// against a real InfluxDB 1.x holding results converted by the collector's own code, with the rollups
// computed by the collector's queries. Each province's dataset is kept between runs (bench/dataset-cache.ts):
// it is anchored at a fixed instant, and the panels' time range ends there.
// References in the same run: the same aggregates on the raw measurements, and a trivial query.
// BENCH_GRAFANA_SITES, BENCH_GRAFANA_DAYS, BENCH_GRAFANA_LATENCY_MIN, BENCH_GRAFANA_UPTIME_MIN size the dataset.
import { backfillRollups, ensureRollups, ROLLUPS } from '../collector/grafana/rollups.ts';
import { siteInfoPoints } from '../collector/grafana/site-info.ts';
import type { Point } from '@influxdata/influxdb-client';
import { readinessToPoints } from '../collector/compliance/points.ts';
import { readinessSummary } from '../collector/compliance/readiness-summary.ts';
import type { ReadinessTest } from '../collector/compliance/readiness-evidence.ts';
import { GRADES } from '../collector/compliance/readiness.ts';
import type { ComplianceRun } from '../collector/compliance/verdicts.ts';
import { createInfluxWriter } from '../collector/influx/writer.ts';
import { cachedDataset } from './dataset-cache.ts';
import { provinceSites, writeRaw } from './grafana-dataset.ts';
import { compliancePoint, presencePoint } from '../test/support/collector-derived-fixture.ts';
import { loadDashboards, resolveVariables, runTarget } from '../test/support/grafana-panels.ts';
import { influxQuery } from '../test/support/influx-query.ts';
import { median } from './harness.ts';
import { OPERATORS, READINESS_LATEST, READINESS_MEDIANS, SITES } from '../dashboards/src/common.ts';

const int = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
};
const MIN = 60_000;
const RUNS = 5;

export interface GrafanaBench {
  steps: GrafanaStep[];
}

export interface GrafanaStep {
  sites: number;
  reused: boolean;
  days: number;
  rawPoints: number;
  writeSeconds: number;
  rollupSeconds: number;
  rows: { query: string; ms: number; rawMs?: number }[];
  trivialMs: number;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return Math.round(median(times));
}

/** Where every dataset ends: the panels' "now". Fixed, so a cached dataset stays valid. */
const ANCHOR = Date.UTC(2026, 10, 30, 12, 0);

export async function benchGrafana(): Promise<GrafanaBench> {
  const max = int('BENCH_GRAFANA_SITES', 2000);
  const steps = [...new Set([250, 2000, 10_000].filter((n) => n < max).concat(max))].sort((a, b) => a - b);
  const out: GrafanaStep[] = [];
  for (const n of steps) out.push(await grafanaStep(n));
  return { steps: out };
}

async function grafanaStep(sites: number): Promise<GrafanaStep> {
  const days = int('BENCH_GRAFANA_DAYS', 30);
  const latencyEvery = int('BENCH_GRAFANA_LATENCY_MIN', 60) * MIN;
  const uptimeEvery = int('BENCH_GRAFANA_UPTIME_MIN', 60) * MIN;
  const db = 'bench_grafana';
  const now = ANCHOR;
  const start = now - days * 86_400_000;
  const registry = provinceSites(sites);
  const data = await cachedDataset(
    `grafana-${sites}`,
    {
      // The rollups' definitions, not rollups.ts's text: a change to how they are scheduled keeps the data.
      sources: ['bench/grafana-dataset.ts', 'collector/influx/points.ts', 'collector/influx/storage.ts'],
      params: { sites, days, latencyEvery, uptimeEvery, ANCHOR, rollups: ROLLUPS },
      databases: [db],
    },
    async (influx) => {
      const writer = createInfluxWriter({ url: influx.url, database: db, timeoutMs: 600_000 });
      await ensureRollups(writer);
      const t0 = performance.now();
      const rawPoints = await writeRaw(writer, registry, start, now, latencyEvery, uptimeEvery);
      const writeSeconds = Math.round((performance.now() - t0) / 100) / 10;
      console.log(`[bench] grafana ${sites} sites: ${rawPoints} raw points written in ${writeSeconds} s; backfilling rollups...`);
      const r0 = performance.now();
      await backfillRollups(writer, start, now);
      const rollupSeconds = Math.round((performance.now() - r0) / 100) / 10;
      return { rawPoints, writeSeconds, rollupSeconds };
    },
  );
  const { influx } = data;
  const { rawPoints = 0, writeSeconds = 0, rollupSeconds = 0 } = data.meta;
  try {
    const writer = createInfluxWriter({ url: influx.url, database: db, timeoutMs: 120_000 });
    console.log(`[bench] grafana ${sites} sites: ${data.reused ? 'cached dataset' : `rollups in ${rollupSeconds} s`}; querying...`);
    // Written last: verdicts at the anchor; presence and site_info stamped with the real clock, since
    // "silent now" and the map read them with InfluxDB's own now().
    await writeDerived(writer, registry, now, Date.now(), days);

    const province = loadDashboards().find((d) => d.uid === 'songcheck-province')!;
    const vars = await resolveVariables(influx.url, db, province);
    const rows: GrafanaStep['rows'] = [];
    for (const panel of province.panels) {
      for (const target of panel.targets) {
        const run = () => runTarget(influx.url, db, province, panel, target.query, vars, now);
        const { rows: result } = await run();
        if (result.length === 0) throw new Error(`${panel.title} ${target.refId} returned nothing`);
        const ms = await timed(run);
        // The same aggregate on the raw measurement, where the panel reads a rollup.
        const raw = rawEquivalent(target.query);
        const rawMs = raw ? await timed(() => runTarget(influx.url, db, province, panel, raw, vars, now)) : undefined;
        rows.push({ query: `${panel.title} / ${target.refId}`, ms, rawMs });
      }
    }
    const trivialMs = await timed(() => influxQuery(influx.url, db, `SELECT last("latitude") FROM "site_info" WHERE "site" = 'LC-0001'`));
    return { sites, reused: data.reused, days, rawPoints, writeSeconds, rollupSeconds, rows, trivialMs };
  } finally {
    await influx.stop();
  }
}

type BenchSite = ReturnType<typeof provinceSites>[number];

async function writeDerived(writer: ReturnType<typeof createInfluxWriter>, registry: BenchSite[], dataNow: number, now: number, days: number): Promise<void> {
  const tags = (s: (typeof registry)[number]) => ({ site: s.code, commune: s.commune, operator: s.operator, link_type: s.linkType });
  const midnight = Math.floor(dataNow / 86_400_000) * 86_400_000;
  const verdicts = ['PASS', 'FAIL', 'INSUFFICIENT'] as const;
  // Online-class readiness, as the compliance engine writes it: one point per throughput test (two a day),
  // and the period's medians on each site's overall verdict (readinessSummary), which the province reads.
  const derived: Point[] = [];
  registry.forEach((s, i) => {
    const tests: ReadinessTest[] = [];
    for (let d = 0; d < days; d++) {
      for (const hour of [2, 7]) {
        const classes = (i + d) % 7;
        const grade = (g: number) => ({ grade: g, points: g * 25, name: GRADES[g]! });
        tests.push({ at: midnight - d * 86_400_000 + hour * 3_600_000, device: `dev_${i}`, figures: { downMbps: 2 + classes * 3 }, readiness: { videoClasses: classes, videoCall: grade(Math.min(4, classes)), streaming: grade(Math.min(4, (i + hour) % 5)) } });
      }
    }
    const readiness = readinessSummary(tests);
    derived.push(
      presencePoint({ ...tags(s), device: `dev_${i}`, at: now - MIN, connected: i % 20 !== 0, last_seen_age_s: i % 20 === 0 ? 7200 : 30, revoked: false }),
      compliancePoint({ ...tags(s), profile: 'default', period_kind: 'rolling30', period: 'rolling30', criterion: 'overall', at: midnight, verdict: verdicts[i % 3]!, samples: 30, min_samples: 20, threshold: 0, reason: i % 3 === 1 ? 'median download below 20 Mbit/s' : '', readiness }),
      ...readinessToPoints({ sites: [{ site: s.code, commune: s.commune, operator: s.operator, linkType: s.linkType, readiness }] } as unknown as ComplianceRun),
    );
  });
  for (let i = 0; i < derived.length; i += 10_000) await writer.write(derived.slice(i, i + 10_000));
  await writer.write(siteInfoPoints(registry, now));
}

/**
 * The panel's query rewritten to read the raw measurement the rollup summarises (same figures, per result);
 * for the readiness medians stored on verdicts, the median over every test's `readiness` point instead.
 */
function rawEquivalent(query: string): string | undefined {
  if (query.startsWith(READINESS_LATEST)) return `${READINESS_MEDIANS} FROM "readiness" WHERE ${OPERATORS} AND ${SITES} AND $timeFilter GROUP BY "site", "commune", "operator"`;
  if (!query.includes('"rollup_1h"')) return undefined;
  return query
    .replace(/"rollup_1h"\."latency_(1[hd]|area_1d)"/, '"latency"')
    .replace(/"rollup_1h"\."throughput_1[hd]"/, '"throughput"')
    .replace(/"rollup_1h"\."uptime_(1[hd]|area_1d)"/, '"uptime"')
    .replace(/sum\("(rtt|jitter)_sum"\) \/ sum\("\1_n"\)/g, (_, f: string) => (f === 'rtt' ? 'mean("rtt_median_ms")' : 'mean("jitter_ms")'))
    .replace(/"mbps_median"/g, '"mbps"');
}

export function grafanaReport(r: GrafanaBench): string {
  const steps = r.steps;
  const last = steps[steps.length - 1]!;
  // The goal is the province's (2 000 sites); larger steps are growth.
  const goal = steps.find((st) => st.sites === 2000);
  const slow = goal?.rows.filter((x) => x.ms >= 1000) ?? [];
  const row = (query: string) => steps.map((st) => st.rows.find((x) => x.query === query));
  const total = (st: GrafanaStep) => st.rows.reduce((a, x) => a + x.ms, 0);
  return [
    `## Grafana: province overview queries over ${last.days} days`,
    '',
    `${steps.map((st) => `${st.sites} sites: ${st.rawPoints} raw points${st.reused ? ' (cached dataset; ' : ' ('}written in ${st.writeSeconds} s, rollups backfilled in ${st.rollupSeconds} s)`).join('; ')}. ${last.days} days; per site latency every ${process.env.BENCH_GRAFANA_LATENCY_MIN ?? 60} min, 2 throughput tests a day, uptime every ${process.env.BENCH_GRAFANA_UPTIME_MIN ?? 60} min; InfluxDB 1.6 on loopback. Each query as Grafana sends it ("All" sites and communes are \`.*\`), median of ${RUNS} runs. The reference beside each panel that reads a rollup is the same aggregate on the raw measurement, at the largest size; beside the readiness table, which reads the medians the compliance engine stores with each site's verdict, it is the median over every test's \`readiness\` point (what that panel read before).`,
    '',
    `| panel / query | ${steps.map((st) => `${st.sites} sites, ms`).join(' | ')} | same on raw data at ${last.sites} (reference), ms | raw / panel |`,
    `| --- | ${steps.map(() => '---:').join(' | ')} | ---: | ---: |`,
    ...last.rows.map((x) => `| ${x.query} | ${row(x.query).map((y) => y?.ms ?? '').join(' | ')} | ${x.rawMs ?? ''} | ${x.rawMs ? (x.rawMs / Math.max(1, x.ms)).toFixed(1) : ''} |`),
    `| **every query of the dashboard, one after the other** | ${steps.map((st) => `**${total(st)}**`).join(' | ')} | | |`,
    `| trivial query (reference): last site_info of one site | ${steps.map((st) => st.trivialMs).join(' | ')} | | |`,
    '',
    goal
      ? `Goal: each under 1 s at 2000 sites: ${slow.length === 0 ? 'met' : `NOT met (${slow.map((x) => x.query).join(', ')})`}.`
      : `Goal (each under 1 s at 2000 sites): not measured, this run's largest step is ${last.sites} sites (BENCH_GRAFANA_SITES).`,
    ...growth(steps, total),
    `The collector's hourly catch-up recomputes 48 h of rollups: at this density about ${Math.round((last.rollupSeconds * 48) / (last.days * 24))} s of InfluxDB work per hour at ${last.sites} sites (backfill time × 48 h / ${last.days * 24} h).`,
  ].join('\n');
}

/**
 * Growth between the two largest steps (2 000 sites and up), and 50 000 sites on paper along the same line:
 * the slowest query and the whole dashboard. Only with two such steps.
 */
function growth(steps: GrafanaStep[], total: (st: GrafanaStep) => number): string[] {
  const big = steps.filter((st) => st.sites >= 2000);
  if (big.length < 2) return [];
  const [a, b] = big.slice(-2) as [GrafanaStep, GrafanaStep];
  const line = (ya: number, yb: number) => (n: number) => yb + ((yb - ya) / (b.sites - a.sites)) * (n - b.sites);
  const slowest = [...b.rows].sort((x, y) => y.ms - x.ms)[0]!;
  const slowestA = a.rows.find((x) => x.query === slowest.query)?.ms ?? 0;
  const over = b.rows.filter((x) => x.ms >= 1000).map((x) => x.query);
  return [
    `At ${b.sites} sites ${over.length === 0 ? 'every query is still under 1 s' : `${over.length} of ${b.rows.length} queries take 1 s or more (${over.join(', ')})`}; the whole dashboard grows ${(total(b) / Math.max(1, total(a))).toFixed(1)}× for ${(b.sites / a.sites).toFixed(0)}× the sites.`,
    `On paper, along the line through ${a.sites} and ${b.sites} sites: at 50000 sites the slowest query (${slowest.query}) ≈ ${(line(slowestA, slowest.ms)(50_000) / 1000).toFixed(1)} s and the whole dashboard ≈ ${(line(total(a), total(b))(50_000) / 1000).toFixed(1)} s of InfluxDB time, with ${Math.round(((b.rawPoints / b.sites) * 50_000) / 1e6)} million raw points a month at this density.`,
  ];
}
