// The rate a link sustains, told apart from an operator's boost. Operators shape with token buckets: the first
// megabytes go through at a peak rate, then the rate steps down to what the plan sustains. A test that stops
// once its estimate is stable stops inside the boost (the rate is stable there too) and reports the peak.
//
// This module keeps the transfer's rate curve (bytes per 250 ms bin), finds the step in it (a two-segment fit),
// moves the estimator's start past a step (so `mbps` is the rate after it), and says when a test may stop:
// not before the bytes of the site's learned boost (boost-profile.ts) have gone through. See docs/throughput.md
// ("Boosts and the sustained rate").
import { z } from 'zod';
import type { RateEstimator } from './estimator.ts';

/** Width of one bin of the rate curve. */
export const CURVE_BIN_MS = 250;
/** Bins kept: two minutes, more than any test runs. */
export const MAX_CURVE_BINS = 480;

export const BoostOptions = z
  .object({
    /** false: no boost handling (stop when stable from the warm-up on, as before). */
    enabled: z.boolean().default(true),
    /** A step down by at least this factor (peak / sustained) is a boost. */
    minStepRatio: z.number().min(1.1).max(10).default(1.3),
    /** Learn the site's boost afresh (one long test per direction) after this many days. */
    relearnDays: z.number().min(0.5).max(365).default(7),
    /** Length of a learning test (http; ndt7 servers stop at 10 s). */
    longTestSeconds: z.number().min(5).max(30).default(15),
    /** A test with a learned boost runs until this multiple of the boost's bytes went through, or the step is seen. */
    margin: z.number().min(1).max(3).default(1.25),
  })
  .strict()
  .prefault({});
export type BoostOptions = z.infer<typeof BoostOptions>;

export interface Step {
  /** Bin where the later segment starts. */
  bin: number;
  /** Median rate before and after, kbit/s. */
  beforeKbps: number;
  afterKbps: number;
  kind: 'boost' | 'ramp';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The one step that best splits the curve into two flat segments (least squares), if the two segments' medians
 * differ by at least minStepRatio: `boost` when the rate fell, `ramp` when it rose (a long path's slow start).
 * The first `skipBins` (slow start) are outside the fit; each segment needs `minBins`.
 */
export function findStep(kbps: readonly number[], opts: { skipBins: number; minBins: number; minStepRatio: number }): Step | undefined {
  const r = kbps.slice(opts.skipBins);
  const n = r.length;
  if (n < 2 * opts.minBins) return undefined;
  const sum = [0];
  const sq = [0];
  for (const x of r) {
    sum.push(sum.at(-1)! + x);
    sq.push(sq.at(-1)! + x * x);
  }
  const sse = (a: number, b: number) => sq[b]! - sq[a]! - (sum[b]! - sum[a]!) ** 2 / (b - a);
  let best = -1;
  let bestSse = Infinity;
  for (let k = opts.minBins; k <= n - opts.minBins; k++) {
    const e = sse(0, k) + sse(k, n);
    if (e < bestSse) [best, bestSse] = [k, e];
  }
  if (best < 0) return undefined;
  const before = median(r.slice(0, best));
  const after = median(r.slice(best));
  const bin = best + opts.skipBins;
  if (after > 0 && before >= opts.minStepRatio * after) return { bin, beforeKbps: before, afterKbps: after, kind: 'boost' };
  if (before > 0 && after >= opts.minStepRatio * before) return { bin, beforeKbps: before, afterKbps: after, kind: 'ramp' };
  return undefined;
}

/** The rate curve of one transfer: cumulative bytes at each bin edge, from the first byte. */
export class RateCurve {
  private t0?: number;
  private last?: [number, number];
  /** Cumulative bytes at t0 + i × CURVE_BIN_MS. */
  readonly edges: number[] = [];

  add(t: number, bytes: number): void {
    if (this.t0 === undefined) {
      this.t0 = t;
      this.last = [t, bytes];
      this.edges.push(bytes);
      return;
    }
    const [lt, lb] = this.last!;
    if (t <= lt || bytes < lb) return;
    // Each bin edge crossed since the last sample, by linear interpolation.
    for (;;) {
      const edgeT = this.t0 + this.edges.length * CURVE_BIN_MS;
      if (edgeT > t || this.edges.length > MAX_CURVE_BINS) break;
      this.edges.push(lb + ((bytes - lb) * (edgeT - lt)) / (t - lt));
    }
    this.last = [t, bytes];
  }

  get startedAt(): number | undefined {
    return this.t0;
  }

  /** Rate of each complete bin, kbit/s (bytes × 8 / ms). */
  kbps(): number[] {
    const out: number[] = [];
    for (let i = 1; i < this.edges.length; i++) out.push(((this.edges[i]! - this.edges[i - 1]!) * 8) / CURVE_BIN_MS);
    return out;
  }

  /** The curve as stored: kbit/s per bin as comma-separated integers (digits and commas only). */
  encode(): string | undefined {
    const k = this.kbps();
    return k.length ? k.map((x) => Math.round(x)).join(',') : undefined;
  }
}

/** What a test expects of its link before it starts (boost-profile.ts). */
export interface SustainedPlan {
  /** A learning test: no stop on a stable estimate unless a boost has been seen and passed. */
  long: boolean;
  /** The learned boost of this direction, bytes (0: none). */
  expectedBoostBytes: number;
}

export interface SustainedSummary {
  curve?: string;
  step?: Step;
  /** Boost: its peak, the bytes and time from the first byte to the step. */
  boost?: { peakMbps: number; bytes: number; ms: number };
  /** Where the figure starts, ms from the first byte. */
  sustainedFromMs?: number;
  /** The test ended before it could see past the site's learned boost: its figure may be the boost's. */
  insideBoost: boolean;
}

/** Bins of settling after a step (TCP adjusts to the new rate; the queue built at the peak drains). */
const SETTLE_BINS = 4;

/**
 * Watches one transfer: keeps the curve, re-fits the step at every new bin and points the estimator past it.
 * `mayStop` is the boost's part of the stop rule; the estimator's stability is the other.
 */
export class SustainedTracker {
  readonly curve = new RateCurve();
  private step?: Step;
  private bins = 0;

  constructor(
    private readonly options: BoostOptions,
    private readonly plan: SustainedPlan,
    private readonly warmupMs: number,
  ) {}

  /** A receiver-side sample (the same the estimator gets). */
  add(t: number, bytes: number, estimator: RateEstimator): void {
    this.curve.add(t, bytes);
    const n = this.curve.edges.length - 1;
    if (n === this.bins) return;
    this.bins = n;
    const step = findStep(this.curve.kbps(), {
      skipBins: Math.ceil(this.warmupMs / CURVE_BIN_MS),
      // A segment of at least one bin more than the settling, and a second of steady rate after the warm-up.
      minBins: Math.max(SETTLE_BINS + 2, Math.ceil(1000 / CURVE_BIN_MS)),
      minStepRatio: this.options.minStepRatio,
    });
    this.step = step;
    const t0 = this.curve.startedAt!;
    estimator.measureFrom(step ? t0 + (step.bin + SETTLE_BINS) * CURVE_BIN_MS : undefined);
  }

  /** Whether the test has seen enough of the link to stop once its estimate is stable. */
  mayStop(bytes: number): boolean {
    if (!this.options.enabled) return true;
    const passed = this.step?.kind === 'boost';
    if (this.plan.long) return passed;
    return passed || bytes >= this.plan.expectedBoostBytes * this.options.margin;
  }

  summary(bytes: number): SustainedSummary {
    const curve = this.curve.encode();
    const step = this.step;
    const edges = this.curve.edges;
    const boost =
      step?.kind === 'boost'
        ? { peakMbps: step.beforeKbps / 1000, bytes: Math.round(edges[step.bin]! - edges[0]!), ms: step.bin * CURVE_BIN_MS }
        : undefined;
    return {
      ...(curve ? { curve } : {}),
      ...(step ? { step, sustainedFromMs: (step.bin + SETTLE_BINS) * CURVE_BIN_MS } : {}),
      ...(boost ? { boost } : {}),
      insideBoost: this.options.enabled && !boost && this.plan.expectedBoostBytes > 0 && bytes < this.plan.expectedBoostBytes * this.options.margin,
    };
  }
}
