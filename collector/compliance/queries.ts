// The InfluxQL behind the verdicts. InfluxDB does the counting, medians, means and percentiles; the
// collector only adds up per-interval results it cannot get otherwise.
//
// School hours: InfluxQL 1.x has no time-of-day function, and OR-ed time ranges silently return nothing
// in 1.6.7 (checked: `WHERE (time >= a AND time < b) OR (time >= c AND time < d)` gives an empty result).
// So each statement reads FROM one subquery per school interval — `FROM (SELECT … WHERE time >= a AND
// time < b GROUP BY site), (…)` — and the outer aggregate (median, percentile, …) runs over their union.
import type { Interval } from './calendar.ts';
import type { QueryResponse, QuerySeries } from '../influx/writer.ts';

const NS = 1_000_000;

/** Per-test values of one metric for one site, as InfluxDB aggregated them. */
export interface Aggregate {
  count: number;
  median?: number;
  mean?: number;
  p95?: number;
  /** Tests at or above each floor asked for (key: the floor as a string). */
  atLeast: Record<string, number>;
}

export interface UptimeSums {
  checks: number;
  up: number;
  collectorDown: number;
  /** Of the device that observed most (several devices at one site do not add up to more than the time). */
  observedS: number;
}

export interface OutageRow {
  start: number;
  end: number;
}

export interface SiteEvidence {
  download?: Aggregate;
  upload?: Aggregate;
  rtt?: Aggregate;
  jitter?: Aggregate;
  loss?: Aggregate;
  uptime?: UptimeSums;
  outages: OutageRow[];
}

/** Per-test fields behind each latency metric (TCP-connect runs; docs/compliance.md). */
const LATENCY_FIELDS = { rtt: 'rtt_median_ms', jitter: 'jitter_ms', loss: 'loss_pct' } as const;

/** How far before a period an outage may have started and still reach into it. */
export const OUTAGE_LOOKBACK_MS = 31 * 86_400_000;

export interface QueryPlan {
  intervals: Interval[];
  /** Only these sites (a calendar variant); all sites when undefined. */
  sites?: string[];
  /** Distinct share_at_least floors per direction. */
  floors: { download: number[]; upload: number[] };
  /** The whole period (for outages, which are clipped to intervals afterwards). */
  from: number;
  to: number;
}

function siteFilter(sites?: string[]): string {
  if (!sites) return '';
  const alternatives = sites.map((s) => s.replace(/[.\\/^$|?*+()[\]{}-]/g, '\\$&')).join('|');
  return ` AND site =~ /^(${alternatives})$/`;
}

function unionOf(inner: (range: string) => string, intervals: Interval[]): string {
  return intervals.map((i) => `(${inner(`time >= ${i.start * NS} AND time < ${i.end * NS}`)})`).join(', ');
}

/** The statements, in the order parseEvidence expects their results. */
export function buildStatements(plan: QueryPlan): string[] {
  const sites = siteFilter(plan.sites);
  const tp = unionOf((r) => `SELECT mbps FROM throughput WHERE ${r} AND code = 'ok' AND target != 'mlab'${sites} GROUP BY site, direction`, plan.intervals);
  const lat = unionOf((r) => `SELECT rtt_median_ms, jitter_ms, loss_pct FROM latency WHERE ${r} AND method = 'tcp_connect'${sites} GROUP BY site`, plan.intervals);
  const up = unionOf((r) => `SELECT checks, checks_up, checks_collector_down, observed_s FROM uptime WHERE ${r}${sites} GROUP BY site, device`, plan.intervals);
  const floors = [...new Set([...plan.floors.download, ...plan.floors.upload])].sort((a, b) => a - b);
  const stats = (f: string) => `count(${f}) AS ${f}_count, median(${f}) AS ${f}_median, mean(${f}) AS ${f}_mean, percentile(${f}, 95) AS ${f}_p95`;
  return [
    `SELECT ${stats('mbps')} FROM ${tp} GROUP BY site, direction`,
    `SELECT ${Object.values(LATENCY_FIELDS).map(stats).join(', ')} FROM ${lat} GROUP BY site`,
    `SELECT sum(checks) AS checks, sum(checks_up) AS up, sum(checks_collector_down) AS collector_down, sum(observed_s) AS observed_s FROM ${up} GROUP BY site, device`,
    `SELECT end_at FROM outage WHERE (kind = 'link_down' OR kind = 'dns_down')${sites} AND time >= ${(plan.from - OUTAGE_LOOKBACK_MS) * NS} AND time < ${plan.to * NS} GROUP BY site`,
    ...floors.map((f) => `SELECT count(mbps) AS n FROM ${tp} WHERE mbps >= ${f} GROUP BY site, direction`),
  ];
}

function rowsOf(series: QuerySeries): Record<string, unknown>[] {
  return series.values.map((v) => Object.fromEntries(series.columns.map((c, i) => [c, v[i]])));
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function aggregate(row: Record<string, unknown>, field: string): Aggregate | undefined {
  const count = num(row[`${field}_count`]) ?? 0;
  if (count === 0) return undefined;
  const out: Aggregate = { count, atLeast: {} };
  const median = num(row[`${field}_median`]);
  const mean = num(row[`${field}_mean`]);
  const p95 = num(row[`${field}_p95`]);
  if (median !== undefined) out.median = median;
  if (mean !== undefined) out.mean = mean;
  if (p95 !== undefined) out.p95 = p95;
  return out;
}

/** Reads the statements' results back into evidence per site. */
export function parseEvidence(response: QueryResponse, plan: QueryPlan): Map<string, SiteEvidence> {
  const bySite = new Map<string, SiteEvidence>();
  const get = (site: string) => {
    let e = bySite.get(site);
    if (!e) bySite.set(site, (e = { outages: [] }));
    return e;
  };
  const results = response.results;
  const series = (i: number) => results.find((r) => r.statement_id === i)?.series ?? [];

  for (const s of series(0)) {
    const site = s.tags?.site;
    const dir = s.tags?.direction;
    const row = rowsOf(s)[0];
    if (!site || !row || (dir !== 'download' && dir !== 'upload')) continue;
    const agg = aggregate(row, 'mbps');
    if (agg) get(site)[dir] = agg;
  }
  for (const s of series(1)) {
    const site = s.tags?.site;
    const row = rowsOf(s)[0];
    if (!site || !row) continue;
    for (const [key, field] of Object.entries(LATENCY_FIELDS) as [keyof typeof LATENCY_FIELDS, string][]) {
      const agg = aggregate(row, field);
      if (agg) get(site)[key] = agg;
    }
  }
  for (const s of series(2)) {
    const site = s.tags?.site;
    const row = rowsOf(s)[0];
    if (!site || !row) continue;
    const e = get(site);
    const u = (e.uptime ??= { checks: 0, up: 0, collectorDown: 0, observedS: 0 });
    u.checks += num(row.checks) ?? 0;
    u.up += num(row.up) ?? 0;
    u.collectorDown += num(row.collector_down) ?? 0;
    u.observedS = Math.max(u.observedS, num(row.observed_s) ?? 0);
  }
  for (const s of series(3)) {
    const site = s.tags?.site;
    if (!site) continue;
    for (const row of rowsOf(s)) {
      const start = num(row.time);
      const end = num(row.end_at);
      if (start !== undefined && end !== undefined && end > start) get(site).outages.push({ start, end });
    }
  }
  const floors = [...new Set([...plan.floors.download, ...plan.floors.upload])].sort((a, b) => a - b);
  floors.forEach((floor, k) => {
    for (const s of series(4 + k)) {
      const site = s.tags?.site;
      const dir = s.tags?.direction;
      const n = num(rowsOf(s)[0]?.n) ?? 0;
      if (!site || (dir !== 'download' && dir !== 'upload')) continue;
      const agg = bySite.get(site)?.[dir];
      if (agg) agg.atLeast[String(floor)] = n;
    }
  });
  return bySite;
}

/** Milliseconds of outage inside the school intervals (outages may overlap; they are merged first). */
export function outageMsInSchool(outages: OutageRow[], intervals: Interval[]): number {
  const merged: OutageRow[] = [];
  for (const o of [...outages].sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last && o.start <= last.end) last.end = Math.max(last.end, o.end);
    else merged.push({ ...o });
  }
  let total = 0;
  for (const o of merged) {
    for (const i of intervals) {
      const overlap = Math.min(o.end, i.end) - Math.max(o.start, i.start);
      if (overlap > 0) total += overlap;
    }
  }
  return total;
}
