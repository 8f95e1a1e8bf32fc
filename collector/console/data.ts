// What the console reads from InfluxDB: the verdicts the compliance engine stored (its `compliance`
// points, so a page never recomputes a month for 2 000 sites), one site's series for the charts, its
// outages and its devices' queue backlog. One query per page section, GROUP BY site where a page shows
// many sites, so the number of queries does not grow with the sites.
import type { InfluxWriter, QueryResponse, QuerySeries } from '../influx/writer.ts';
import type { Period } from '../compliance/periods.ts';
import type { Verdict } from '../compliance/judge.ts';

type Query = Pick<InfluxWriter, 'query'>;

export interface StoredVerdict {
  site: string;
  verdict: Verdict;
  reason: string;
}

export interface StoredCriterion {
  criterion: string;
  verdict: Verdict;
  value?: number;
  mean?: number;
  threshold?: number;
  samples?: number;
  minSamples?: number;
  reason: string;
}

export interface SiteSeries {
  /** [epoch ms, Mbit/s] of each download test. */
  download: [number, number][];
  upload: [number, number][];
  /** Hourly median RTT. */
  rtt: [number, number][];
  /** Daily uptime %. */
  uptime: [number, number][];
}

export interface Outage {
  start: number;
  end: number;
  kind: string;
}

export interface DeviceHealth {
  queueDepth?: number;
  oldestUnsentAgeS?: number;
  at: number;
}

const ms = (t: number) => `${Math.floor(t)}ms`;
/** Site codes are [A-Za-z0-9._-] (registry/site.ts) and period labels are validated; quoting stays strict anyway. */
const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function series(r: QueryResponse, statement = 0): QuerySeries[] {
  const res = r.results[statement];
  if (res?.error) throw new Error(`InfluxDB: ${res.error}`);
  return res?.series ?? [];
}

function rows(s: QuerySeries): Record<string, unknown>[] {
  return s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const verdictOf = (v: unknown): Verdict | undefined => (v === 'PASS' || v === 'FAIL' || v === 'INSUFFICIENT' ? v : undefined);

/** Where a period's stored points can start: its start, less a day for zone edges. */
const since = (p: Period) => ms(p.start - 86_400_000);

/** Every site's overall verdict for the period, as last stored (site code → verdict). */
export async function storedVerdicts(q: Query, period: Period): Promise<Map<string, StoredVerdict>> {
  const r = await q.query(
    `SELECT last(verdict) AS verdict, last(reason) AS reason FROM compliance WHERE period = ${quote(period.label)} AND criterion = 'overall' AND time >= ${since(period)} GROUP BY site`,
  );
  const out = new Map<string, StoredVerdict>();
  for (const s of series(r)) {
    const site = s.tags?.site;
    const row = rows(s)[0];
    const verdict = verdictOf(row?.verdict);
    if (!site || !row || !verdict) continue;
    out.set(site, { site, verdict, reason: typeof row.reason === 'string' ? row.reason : '' });
  }
  return out;
}

/** One site's verdict per criterion with its evidence, as last stored. */
export async function storedCriteria(q: Query, period: Period, site: string): Promise<StoredCriterion[]> {
  const r = await q.query(
    `SELECT last(verdict) AS verdict, last(value) AS value, last(mean) AS mean, last(threshold) AS threshold, last(samples) AS samples, last(min_samples) AS min_samples, last(reason) AS reason FROM compliance WHERE site = ${quote(site)} AND period = ${quote(period.label)} AND criterion <> 'overall' AND time >= ${since(period)} GROUP BY criterion`,
  );
  const out: StoredCriterion[] = [];
  for (const s of series(r)) {
    const row = rows(s)[0];
    const verdict = verdictOf(row?.verdict);
    if (!row || !verdict || !s.tags?.criterion) continue;
    out.push({
      criterion: s.tags.criterion, verdict, value: num(row.value), mean: num(row.mean), threshold: num(row.threshold),
      samples: num(row.samples), minSamples: num(row.min_samples), reason: typeof row.reason === 'string' ? row.reason : '',
    });
  }
  return out;
}

/** Download/upload tests, hourly RTT medians and daily uptime of one site, in one request of four statements. */
export async function siteSeries(q: Query, site: string, from: number, to: number): Promise<SiteSeries> {
  const where = `site = ${quote(site)} AND time >= ${ms(from)} AND time < ${ms(to)}`;
  const r = await q.query(
    [
      `SELECT mbps FROM throughput WHERE ${where} AND code = 'ok' GROUP BY direction`,
      `SELECT median(rtt_median_ms) FROM latency WHERE ${where} GROUP BY time(1h) fill(none)`,
      `SELECT sum(checks_up) + sum(checks_collector_down) AS up, sum(checks) AS checks FROM uptime WHERE ${where} GROUP BY time(1d) fill(none)`,
    ].join(';'),
  );
  const out: SiteSeries = { download: [], upload: [], rtt: [], uptime: [] };
  for (const s of series(r, 0)) {
    const target = s.tags?.direction === 'upload' ? out.upload : s.tags?.direction === 'download' ? out.download : undefined;
    for (const [t, v] of s.values) if (target && typeof t === 'number' && num(v) !== undefined) target.push([t, v as number]);
  }
  for (const s of series(r, 1)) for (const [t, v] of s.values) if (typeof t === 'number' && num(v) !== undefined) out.rtt.push([t, Math.round((v as number) * 10) / 10]);
  for (const s of series(r, 2)) {
    for (const [t, up, checks] of s.values) {
      if (typeof t === 'number' && num(up) !== undefined && num(checks)) out.uptime.push([t, Math.round(((up as number) * 1000) / (checks as number)) / 10]);
    }
  }
  for (const list of Object.values(out) as [number, number][][]) list.sort((a, b) => a[0] - b[0]);
  return out;
}

/** One site's outages that overlap [from, to). */
export async function siteOutages(q: Query, site: string, from: number, to: number): Promise<Outage[]> {
  // An outage point is stamped at its start; one that began a week earlier may still reach into the window.
  const r = await q.query(`SELECT end_at FROM outage WHERE site = ${quote(site)} AND time >= ${ms(from - 7 * 86_400_000)} AND time < ${ms(to)} GROUP BY kind`);
  const out: Outage[] = [];
  for (const s of series(r)) {
    for (const [t, end] of s.values) {
      if (typeof t !== 'number' || num(end) === undefined || (end as number) <= from) continue;
      out.push({ start: t, end: end as number, kind: s.tags?.kind ?? '' });
    }
  }
  return out.sort((a, b) => b.start - a.start);
}

/** The last agent_health of each device of a site within a week. */
export async function deviceHealth(q: Query, site: string, now: number): Promise<Map<string, DeviceHealth>> {
  const r = await q.query(`SELECT last(queue_depth) AS depth, last(oldest_unsent_age_s) AS oldest FROM agent_health WHERE site = ${quote(site)} AND time >= ${ms(now - 7 * 86_400_000)} GROUP BY device`);
  const out = new Map<string, DeviceHealth>();
  for (const s of series(r)) {
    const row = rows(s)[0];
    if (!s.tags?.device || !row) continue;
    out.set(s.tags.device, { queueDepth: num(row.depth), oldestUnsentAgeS: num(row.oldest), at: num(row.time) ?? 0 });
  }
  return out;
}
