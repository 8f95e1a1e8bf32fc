// Hourly rollups for 30-day dashboards: a retention policy and InfluxDB 1.x continuous queries that the
// collector creates at start-up, idempotently. The rollup measurements keep the site tags, so a province
// panel reads ~720 points per site and month instead of every result. InfluxDB 2.x/3.x through the v1 API
// have no continuous queries: set SONGCHECK_INFLUX_ROLLUPS=false there (docs/grafana.md#downsampling).
import type { Logger } from 'pino';
import type { InfluxWriter } from '../influx/writer.ts';
import { periodic, type TimerLease } from '../periodic.ts';

export const ROLLUP_RP = 'rollup_1h';
/** How long hourly rollups are kept. Raw data keeps the database's default policy (unchanged). */
export const ROLLUP_RETENTION = '800d';
/** Continuous queries this collector owns start with this prefix; others are left alone. */
export const CQ_PREFIX = 'songcheck_';
/** Bumped when a rollup's SELECT changes, so the old query is dropped and the new one created. */
const VERSION = 'v1';
const SITE_TAGS = ['site', 'commune', 'operator', 'link_type'];
/** The area levels' tags: every site tag but the site. */
const AREA_TAGS = SITE_TAGS.filter((t) => t !== 'site');

export interface Rollup {
  /** Target measurement in ROLLUP_RP. */
  into: string;
  /** Source measurement; `rollup` = the hourly rollup in ROLLUP_RP (daily levels are computed from it). */
  from: string;
  fromRollup?: boolean;
  /** `1h` or `1d` (UTC days). */
  every: '1h' | '1d';
  select: string;
  where?: string;
  tags: string[];
}

// Hourly levels from the raw measurements, then daily levels from the hourly ones, then daily area levels from
// the daily ones (in this order: a backfill computes each day's hours before the day, and the day before its
// area). 30-day tables read the daily level: ~30 points per site and series; area tables the area level.
export const ROLLUPS: Rollup[] = [
  {
    into: 'latency_1h',
    from: 'latency',
    every: '1h',
    select:
      'percentile(rtt_median_ms, 50) AS rtt_median_ms, mean(rtt_median_ms) AS rtt_mean_ms, percentile(rtt_p95_ms, 95) AS rtt_p95_ms, ' +
      'mean(jitter_ms) AS jitter_ms, sum(sent) AS sent, sum(received) AS received, count(sent) AS results',
    tags: [...SITE_TAGS, 'method'],
  },
  {
    into: 'throughput_1h',
    from: 'throughput',
    every: '1h',
    select:
      'percentile(mbps, 50) AS mbps_median, mean(mbps) AS mbps_mean, min(mbps) AS mbps_min, count(mbps) AS tests, ' +
      'percentile(loaded_rtt_median_ms, 50) AS loaded_rtt_median_ms, sum(budget_bytes) AS budget_bytes',
    where: "code = 'ok'",
    tags: [...SITE_TAGS, 'method', 'direction'],
  },
  {
    into: 'uptime_1h',
    from: 'uptime',
    every: '1h',
    select: 'sum(observed_s) AS observed_s, sum(up_s) AS up_s, sum(checks) AS checks, sum(checks_up) AS checks_up, count(checks) AS slots',
    tags: SITE_TAGS,
  },
  {
    into: 'latency_1d',
    from: 'latency_1h',
    fromRollup: true,
    every: '1d',
    // Mean of the hourly medians: a median of medians would cost a sort for no better figure.
    select: 'mean(rtt_median_ms) AS rtt_median_ms, max(rtt_p95_ms) AS rtt_p95_ms, mean(jitter_ms) AS jitter_ms, sum(sent) AS sent, sum(received) AS received, sum(results) AS results',
    tags: [...SITE_TAGS, 'method'],
  },
  {
    into: 'throughput_1d',
    from: 'throughput_1h',
    fromRollup: true,
    every: '1d',
    select: 'mean(mbps_median) AS mbps_median, mean(mbps_mean) AS mbps_mean, min(mbps_min) AS mbps_min, sum(tests) AS tests, sum(budget_bytes) AS budget_bytes',
    tags: [...SITE_TAGS, 'method', 'direction'],
  },
  {
    into: 'uptime_1d',
    from: 'uptime_1h',
    fromRollup: true,
    every: '1d',
    select: 'sum(observed_s) AS observed_s, sum(up_s) AS up_s, sum(checks) AS checks, sum(checks_up) AS checks_up, sum(slots) AS slots',
    tags: SITE_TAGS,
  },
  // Area levels: one series per commune, operator and link type instead of one per site. A table grouped by
  // commune and operator over 2 000 sites × 30 days read 12 000 site series and took 1.5–6 s; the same figures
  // from these take about 0.1 s (bench/README.md "Grafana"). Sums and counts only, so the panels' means over
  // site-days stay exact: sum(rtt_sum) / sum(rtt_n) is the mean of the sites' daily values.
  {
    into: 'latency_area_1d',
    from: 'latency_1d',
    fromRollup: true,
    every: '1d',
    select: 'sum(rtt_median_ms) AS rtt_sum, count(rtt_median_ms) AS rtt_n, sum(jitter_ms) AS jitter_sum, count(jitter_ms) AS jitter_n, sum(sent) AS sent, sum(received) AS received, sum(results) AS results',
    tags: [...AREA_TAGS, 'method'],
  },
  {
    into: 'uptime_area_1d',
    from: 'uptime_1d',
    fromRollup: true,
    every: '1d',
    select: 'sum(observed_s) AS observed_s, sum(up_s) AS up_s, sum(checks) AS checks, sum(checks_up) AS checks_up, sum(slots) AS slots',
    tags: AREA_TAGS,
  },
];

const q = (name: string) => `"${name.replace(/"/g, '')}"`;

export function cqName(r: Rollup): string {
  return `${CQ_PREFIX}${r.into}_${VERSION}`;
}

/** The SELECT ... INTO a continuous query runs each hour; also used to backfill with a time range. */
export function rollupSelect(database: string, sourceRp: string | undefined, r: Rollup, timeRange?: string): string {
  const from = r.fromRollup ? `${q(database)}.${q(ROLLUP_RP)}.${q(r.from)}` : sourceRp ? `${q(database)}.${q(sourceRp)}.${q(r.from)}` : q(r.from);
  const where = [r.where, timeRange].filter(Boolean).join(' AND ');
  return `SELECT ${r.select} INTO ${q(database)}.${q(ROLLUP_RP)}.${q(r.into)} FROM ${from}${where ? ` WHERE ${where}` : ''} GROUP BY time(${r.every}), ${r.tags.map(q).join(', ')}`;
}

export function createCqStatement(database: string, sourceRp: string | undefined, r: Rollup): string {
  // RESAMPLE FOR 2h: results arrive late (agents queue offline), so the previous hour is recomputed once more.
  // Daily levels run hourly over the last two days, so today's figure follows the hours as they come in.
  const resample = r.every === '1h' ? 'RESAMPLE EVERY 1h FOR 2h' : 'RESAMPLE EVERY 1h FOR 2d';
  return `CREATE CONTINUOUS QUERY ${q(cqName(r))} ON ${q(database)} ${resample} BEGIN ${rollupSelect(database, sourceRp, r)} END`;
}

export interface RollupStatus {
  ok: boolean;
  created: string[];
  dropped: string[];
  error?: string;
}

type Querier = Pick<InfluxWriter, 'query' | 'database'>;

async function existingCqs(writer: Querier): Promise<string[]> {
  const res = await writer.query('SHOW CONTINUOUS QUERIES');
  const series = res.results[0]?.series ?? [];
  return series.filter((s) => s.name === writer.database).flatMap((s) => (s.values ?? []).map((v) => String(v[0])));
}

/**
 * Creates the rollup retention policy (or corrects its duration) and the continuous queries, drops this
 * collector's outdated ones. Safe to run at every start and from several collectors at once.
 */
export async function ensureRollups(writer: Querier, opts: { sourceRp?: string; logger?: Logger } = {}): Promise<RollupStatus> {
  const db = q(writer.database);
  const created: string[] = [];
  const dropped: string[] = [];
  try {
    try {
      await writer.query(`CREATE RETENTION POLICY ${q(ROLLUP_RP)} ON ${db} DURATION ${ROLLUP_RETENTION} REPLICATION 1`);
    } catch (error) {
      // 1.x refuses CREATE when the policy exists with other settings (an operator changed it): align it.
      if (!/already exists/i.test((error as Error).message)) throw error;
      await writer.query(`ALTER RETENTION POLICY ${q(ROLLUP_RP)} ON ${db} DURATION ${ROLLUP_RETENTION}`);
    }
    const existing = await existingCqs(writer);
    const wanted = new Map(ROLLUPS.map((r) => [cqName(r), r]));
    for (const name of existing) {
      if (name.startsWith(CQ_PREFIX) && !wanted.has(name)) {
        await writer.query(`DROP CONTINUOUS QUERY ${q(name)} ON ${db}`);
        dropped.push(name);
      }
    }
    for (const [name, r] of wanted) {
      if (existing.includes(name)) continue;
      await writer.query(createCqStatement(writer.database, opts.sourceRp, r));
      created.push(name);
    }
    opts.logger?.info({ created, dropped, rp: ROLLUP_RP }, 'InfluxDB rollups ready');
    return { ok: true, created, dropped };
  } catch (error) {
    const message = (error as Error).message;
    // Not fatal: ingest works without rollups; 30-day panels are only slower. On 2.x/3.x set SONGCHECK_INFLUX_ROLLUPS=false.
    opts.logger?.warn({ err: message }, 'could not create InfluxDB rollups (continuous queries); dashboards fall back to slower queries. Set SONGCHECK_INFLUX_ROLLUPS=false on InfluxDB 2.x/3.x');
    return { ok: false, created, dropped, error: message };
  }
}

/**
 * Computes the rollups for [fromMs, toMs) now, e.g. for history written before the continuous queries existed
 * (they only look at the last two hours). Runs the same SELECT ... INTO, one day at a time to bound memory.
 */
export async function backfillRollups(writer: Querier, fromMs: number, toMs: number, opts: { sourceRp?: string } = {}): Promise<number> {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  let written = 0;
  // Whole UTC days: a daily point computed from part of its day would overwrite the full one.
  const start = Math.floor(fromMs / DAY) * DAY;
  for (let t = start, n = 0; t < toMs && n < 10_000; t += DAY, n++) {
    const end = t + DAY;
    for (const r of ROLLUPS) {
      const res = await writer.query(rollupSelect(writer.database, opts.sourceRp, r, `time >= ${t}ms AND time < ${end}ms`));
      written += Number(res.results[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
    }
  }
  return written;
}

/** How far back the hourly catch-up recomputes rollups, for results delivered late (agents that were offline). */
export const CATCH_UP_HOURS = 48;

/**
 * Every hour, recomputes the rollups of the last CATCH_UP_HOURS (the continuous queries only look at two
 * hours), so a school whose agent delivers a day of queued results after an outage still shows in 30-day
 * panels. Same points, same tags and times: recomputing overwrites, never duplicates. One run at a time
 * (collector/periodic.ts, `grafana.rollup-catch-up` in /healthz); with `lease`, one run across the
 * processes sharing the store, since each run is 48 hours of InfluxDB work.
 */
export function startRollupCatchUp(
  writer: Querier,
  opts: { sourceRp?: string; logger?: Logger; everyMs?: number; clock?: () => number; lease?: TimerLease['store'] } = {},
): () => Promise<void> {
  const clock = opts.clock ?? Date.now;
  const timer = periodic(
    'grafana.rollup-catch-up',
    opts.everyMs ?? 3_600_000,
    () => {
      const now = clock();
      return backfillRollups(writer, now - CATCH_UP_HOURS * 3_600_000, now - 3_600_000, { sourceRp: opts.sourceRp });
    },
    { ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.lease ? { lease: { store: opts.lease, name: 'grafana-rollup-catch-up' } } : {}) },
  );
  return () => timer.stop();
}
