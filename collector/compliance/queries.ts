// The InfluxQL behind the verdicts, and why it is shaped this way (measured; docs/compliance.md "Method").
//
// School hours: InfluxQL 1.x has no time-of-day function, and OR-ed time ranges silently return nothing
// in 1.6.7 (checked: `WHERE (time >= a AND time < b) OR (time >= c AND time < d)` gives an empty result).
// An order statistic over several ranges needs subqueries — `SELECT median(x) FROM (SELECT x … range 1),
// (SELECT x … range 2)` works — but 1.6 re-runs the subqueries for every aggregate in the outer SELECT:
// on 40 sites × a month, one statement with the 12 latency aggregates took 60–70 s, one median 3 s, while
// fetching the same school-hour rows took 2.3 s. So:
//   - sums (uptime checks, observed seconds) are computed by InfluxDB, one statement per school interval,
//     GROUP BY site, device, and added up here;
//   - per-test values (throughput mbps, TCP-connect rtt/jitter/loss) are read per school interval, GROUP BY
//     site, and their median, mean, p95 and shares are computed here with InfluxDB's own definitions
//     (median: mean of the two middle values for an even count; percentile: nearest rank as in
//     InfluxDB's percentile(), index floor(n·p/100 + 0.5) − 1);
//   - outages are few: read once for the period and clipped to school hours here.
// One request per school interval (its statements together), a few requests in flight.
import type { Interval } from './calendar.ts';
import type { QueryResponse, QuerySeries } from '../influx/writer.ts';

const NS = 1_000_000;

/** Per-test values of one metric for one site. */
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

/** How far before a period an outage may have started and still reach into it. */
export const OUTAGE_LOOKBACK_MS = 31 * 86_400_000;

export interface QueryPlan {
  intervals: Interval[];
  /** Only these sites (a calendar variant, or a request for some sites); all sites when undefined. */
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

const range = (i: Interval) => `time >= ${i.start * NS} AND time < ${i.end * NS}`;

/** The statements of one school interval, in the order addInterval expects. */
export function intervalStatements(i: Interval, plan: Pick<QueryPlan, 'sites'>): string[] {
  const sites = siteFilter(plan.sites);
  return [
    `SELECT mbps FROM throughput WHERE ${range(i)} AND code = 'ok' AND target != 'mlab'${sites} GROUP BY site, direction`,
    `SELECT rtt_median_ms, jitter_ms, loss_pct FROM latency WHERE ${range(i)} AND method = 'tcp_connect'${sites} GROUP BY site`,
    `SELECT sum(checks) AS checks, sum(checks_up) AS up, sum(checks_collector_down) AS collector_down, sum(observed_s) AS observed_s FROM uptime WHERE ${range(i)}${sites} GROUP BY site, device`,
  ];
}

export function outageStatement(plan: QueryPlan): string {
  return `SELECT end_at FROM outage WHERE time >= ${(plan.from - OUTAGE_LOOKBACK_MS) * NS} AND time < ${plan.to * NS} AND (kind = 'link_down' OR kind = 'dns_down')${siteFilter(plan.sites)} GROUP BY site`;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

interface SiteValues {
  download: number[];
  upload: number[];
  rtt: number[];
  jitter: number[];
  loss: number[];
  /** Per device: checks, up, collector_down, observed_s. */
  devices: Map<string, [number, number, number, number]>;
  outages: OutageRow[];
}

/** Collects the rows of every interval's statements per site, then summarises them (evidence()). */
export class EvidenceCollector {
  private readonly sites = new Map<string, SiteValues>();

  private site(code: string): SiteValues {
    let v = this.sites.get(code);
    if (!v) this.sites.set(code, (v = { download: [], upload: [], rtt: [], jitter: [], loss: [], devices: new Map(), outages: [] }));
    return v;
  }

  addInterval(response: QueryResponse): void {
    const series = (i: number): QuerySeries[] => response.results.find((r) => r.statement_id === i)?.series ?? [];
    for (const s of series(0)) {
      const dir = s.tags?.direction;
      if (!s.tags?.site || (dir !== 'download' && dir !== 'upload')) continue;
      const col = s.columns.indexOf('mbps');
      const out = this.site(s.tags.site)[dir];
      for (const row of s.values) {
        const x = num(row[col]);
        if (x !== undefined) out.push(x);
      }
    }
    for (const s of series(1)) {
      if (!s.tags?.site) continue;
      const v = this.site(s.tags.site);
      const [r, j, l] = ['rtt_median_ms', 'jitter_ms', 'loss_pct'].map((c) => s.columns.indexOf(c));
      for (const row of s.values) {
        const rtt = num(row[r!]);
        const jitter = num(row[j!]);
        const loss = num(row[l!]);
        if (rtt !== undefined) v.rtt.push(rtt);
        if (jitter !== undefined) v.jitter.push(jitter);
        if (loss !== undefined) v.loss.push(loss);
      }
    }
    for (const s of series(2)) {
      if (!s.tags?.site) continue;
      const row = Object.fromEntries(s.columns.map((c, i) => [c, s.values[0]?.[i]]));
      const devices = this.site(s.tags.site).devices;
      const key = s.tags.device ?? '';
      const d = devices.get(key) ?? [0, 0, 0, 0];
      d[0] += num(row.checks) ?? 0;
      d[1] += num(row.up) ?? 0;
      d[2] += num(row.collector_down) ?? 0;
      d[3] += num(row.observed_s) ?? 0;
      devices.set(key, d);
    }
  }

  addOutages(response: QueryResponse): void {
    for (const s of response.results[0]?.series ?? []) {
      if (!s.tags?.site) continue;
      const [t, e] = [s.columns.indexOf('time'), s.columns.indexOf('end_at')];
      for (const row of s.values) {
        const start = num(row[t]);
        const end = num(row[e]);
        if (start !== undefined && end !== undefined && end > start) this.site(s.tags.site).outages.push({ start, end });
      }
    }
  }

  evidence(plan: Pick<QueryPlan, 'floors'>): Map<string, SiteEvidence> {
    const out = new Map<string, SiteEvidence>();
    for (const [code, v] of this.sites) {
      const e: SiteEvidence = { outages: v.outages };
      const set = (key: 'download' | 'upload' | 'rtt' | 'jitter' | 'loss', values: number[], floors: number[] = []) => {
        const a = summarise(values, floors);
        if (a) e[key] = a;
      };
      set('download', v.download, plan.floors.download);
      set('upload', v.upload, plan.floors.upload);
      set('rtt', v.rtt);
      set('jitter', v.jitter);
      set('loss', v.loss);
      if (v.devices.size > 0) {
        const u: UptimeSums = { checks: 0, up: 0, collectorDown: 0, observedS: 0 };
        for (const [checks, up, cd, obs] of v.devices.values()) {
          u.checks += checks;
          u.up += up;
          u.collectorDown += cd;
          u.observedS = Math.max(u.observedS, obs);
        }
        e.uptime = u;
      }
      out.set(code, e);
    }
    return out;
  }
}

/** Median, mean, p95 and shares with InfluxDB's definitions (see the top of this file). */
export function summarise(values: number[], floors: number[] = []): Aggregate | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  const median = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  const p95 = sorted[Math.max(0, Math.min(n - 1, Math.floor((n * 95) / 100 + 0.5) - 1))]!;
  let sum = 0;
  for (const x of sorted) sum += x;
  const atLeast: Record<string, number> = {};
  for (const f of floors) {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < f) lo = mid + 1;
      else hi = mid;
    }
    atLeast[String(f)] = n - lo;
  }
  return { count: n, median, mean: sum / n, p95, atLeast };
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
