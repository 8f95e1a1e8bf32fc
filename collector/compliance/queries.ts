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
import type { Interval } from '../school/calendar.ts';
import type { QueryResponse, QuerySeries } from '../influx/writer.ts';
import type { ReadinessConfig } from './readiness.ts';
import { type LatencyRun, readinessTests, type ReadinessTest, type TestRow } from './readiness-evidence.ts';
import { LEFT_OUT_FLAGS } from '../throughput/left-out.ts';

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

/** Why a throughput test is left out of the operator's figures (docs/throughput.md "Flags"). */
export const EXCLUSION_FLAGS = LEFT_OUT_FLAGS;
export type ExclusionFlag = (typeof EXCLUSION_FLAGS)[number];

export interface Exclusions {
  /** Tests left out, per flag (a test with two flags counts under both). */
  counts: Record<ExclusionFlag, number>;
  /** Tests left out, each counted once. */
  tests: number;
  /** TCP-connect runs left out because the router alone took most of their round trip. */
  latencyRunsLan: number;
  /** The latest LAN explanation of a left-out test ("Wi-Fi link rate 6 Mbit/s at the time"). */
  lanReason?: string;
}

export interface SiteEvidence {
  download?: Aggregate;
  upload?: Aggregate;
  rtt?: Aggregate;
  jitter?: Aggregate;
  loss?: Aggregate;
  uptime?: UptimeSums;
  outages: OutageRow[];
  /** Online-class readiness per test (both directions of one test and the latency runs around it). */
  videoClasses?: Aggregate;
  videoCallGrade?: Aggregate;
  streamingGrade?: Aggregate;
  readinessTests?: ReadinessTest[];
  /** Throughput tests not counted because of a flag; absent when none. */
  excluded?: Exclusions;
}

/** How far before a period an outage may have started and still reach into it. */
export const OUTAGE_LOOKBACK_MS = 31 * 86_400_000;

export interface QueryPlan {
  intervals: Interval[];
  /** Only these sites (a calendar variant, or a request for some sites); all sites when undefined. */
  sites?: string[];
  /** Distinct share_at_least floors per metric (download, upload, and the readiness metrics). */
  floors: { download: number[]; upload: number[]; video_classes?: number[]; video_call_grade?: number[]; streaming_grade?: number[] };
  /** The profiles file's readiness section: per-test readiness is computed only with it. */
  readiness?: ReadinessConfig;
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
    // Flags and latency figures ride along: flagged tests are left out, the rest make readiness tests.
    `SELECT mbps, idle_rtt_ms, loaded_rtt_median_ms, ${EXCLUSION_FLAGS.join(', ')}, lan_reason FROM throughput WHERE ${range(i)} AND code = 'ok' AND target != 'mlab'${sites} GROUP BY site, device, direction`,
    `SELECT rtt_median_ms, jitter_ms, loss_pct, lan_bottleneck FROM latency WHERE ${range(i)} AND method = 'tcp_connect'${sites} GROUP BY site`,
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
  tests: TestRow[];
  runs: LatencyRun[];
  excluded: Exclusions & { lanReasonAt: number };
}

/** Collects the rows of every interval's statements per site, then summarises them (evidence()). */
export class EvidenceCollector {
  private readonly sites = new Map<string, SiteValues>();

  private site(code: string): SiteValues {
    let v = this.sites.get(code);
    if (!v) {
      v = { download: [], upload: [], rtt: [], jitter: [], loss: [], devices: new Map(), outages: [], tests: [], runs: [], excluded: { counts: { cross_traffic: 0, lan_bottleneck: 0, server_limited: 0 }, tests: 0, latencyRunsLan: 0, lanReasonAt: -Infinity } };
      this.sites.set(code, v);
    }
    return v;
  }

  addInterval(response: QueryResponse): void {
    const series = (i: number): QuerySeries[] => response.results.find((r) => r.statement_id === i)?.series ?? [];
    for (const s of series(0)) {
      const dir = s.tags?.direction;
      if (!s.tags?.site || (dir !== 'download' && dir !== 'upload')) continue;
      const col = (name: string) => s.columns.indexOf(name);
      const [t, m, idle, loaded, lanReason] = [col('time'), col('mbps'), col('idle_rtt_ms'), col('loaded_rtt_median_ms'), col('lan_reason')];
      const flags = EXCLUSION_FLAGS.map((f) => [f, col(f)] as const);
      const site = this.site(s.tags.site);
      for (const row of s.values) {
        const x = num(row[m]);
        const at = num(row[t]);
        if (x === undefined || at === undefined) continue;
        const raised = flags.filter(([, i]) => i >= 0 && row[i] === true).map(([f]) => f);
        if (raised.length > 0) {
          for (const f of raised) site.excluded.counts[f]++;
          site.excluded.tests++;
          const reason = lanReason >= 0 && typeof row[lanReason] === 'string' ? (row[lanReason] as string) : undefined;
          if (raised.includes('lan_bottleneck') && reason && at > site.excluded.lanReasonAt) {
            site.excluded.lanReason = reason;
            site.excluded.lanReasonAt = at;
          }
          continue;
        }
        site[dir].push(x);
        site.tests.push({ at, device: s.tags.device ?? '', direction: dir, mbps: x, idleRttMs: num(row[idle]), loadedRttMs: num(row[loaded]) });
      }
    }
    for (const s of series(1)) {
      if (!s.tags?.site) continue;
      const v = this.site(s.tags.site);
      const [t, r, j, l, lan] = ['time', 'rtt_median_ms', 'jitter_ms', 'loss_pct', 'lan_bottleneck'].map((c) => s.columns.indexOf(c));
      for (const row of s.values) {
        if (lan! >= 0 && row[lan!] === true) {
          v.excluded.latencyRunsLan++;
          continue;
        }
        const rtt = num(row[r!]);
        const jitter = num(row[j!]);
        const loss = num(row[l!]);
        if (rtt !== undefined) v.rtt.push(rtt);
        if (jitter !== undefined) v.jitter.push(jitter);
        if (loss !== undefined) v.loss.push(loss);
        const at = num(row[t!]);
        if (at !== undefined) v.runs.push({ at, ...(rtt !== undefined ? { rttMs: rtt } : {}), ...(jitter !== undefined ? { jitterMs: jitter } : {}), ...(loss !== undefined ? { lossPct: loss } : {}) });
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

  evidence(plan: Pick<QueryPlan, 'floors' | 'readiness'>): Map<string, SiteEvidence> {
    const out = new Map<string, SiteEvidence>();
    for (const [code, v] of this.sites) {
      const e: SiteEvidence = { outages: v.outages };
      const set = (key: 'download' | 'upload' | 'rtt' | 'jitter' | 'loss' | 'videoClasses' | 'videoCallGrade' | 'streamingGrade', values: number[], floors: number[] = []) => {
        const a = summarise(values, floors);
        if (a) e[key] = a;
      };
      set('download', v.download, plan.floors.download);
      set('upload', v.upload, plan.floors.upload);
      set('rtt', v.rtt);
      set('jitter', v.jitter);
      set('loss', v.loss);
      if (plan.readiness && v.tests.length > 0) {
        const tests = readinessTests(plan.readiness, v.tests, v.runs);
        const pick = (f: (t: ReadinessTest) => number | undefined) => tests.map(f).filter((x): x is number => x !== undefined);
        set('videoClasses', pick((t) => t.readiness.videoClasses), plan.floors.video_classes);
        set('videoCallGrade', pick((t) => t.readiness.videoCall?.grade), plan.floors.video_call_grade);
        set('streamingGrade', pick((t) => t.readiness.streaming?.grade), plan.floors.streaming_grade);
        if (tests.length > 0) e.readinessTests = tests;
      }
      if (v.excluded.tests > 0 || v.excluded.latencyRunsLan > 0) {
        const { lanReasonAt: _at, ...excluded } = v.excluded;
        e.excluded = excluded;
      }
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
