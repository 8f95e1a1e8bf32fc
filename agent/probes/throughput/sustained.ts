// The rate a link sustains, told apart from an operator's boost. Operators shape with token buckets: the first
// megabytes go through at a peak rate, then the rate steps down to what the plan sustains. A test that stops
// once its estimate is stable stops inside the boost (the rate is stable there too) and reports the peak.
//
// This module keeps the transfer's rate curve (bytes per 250 ms bin), finds the step in it (a two-segment fit),
// moves the estimator's start past a step (so `mbps` is the rate after it), and says when a test may stop:
// not before the bytes of the site's learned boost (boost-profile.ts) have gone through. See docs/throughput.md
// ("Boosts and the sustained rate").
import type { BoostOptions } from '../../../protocol/probe-options/throughput.ts';
import { RATE_CURVE_MAX_BINS, type ThroughputFields } from '../../../protocol/results.ts';
import type { RateEstimator } from './estimator.ts';

/** Width of one bin of the rate curve. */
export const CURVE_BIN_MS = 250;
/** Bins kept: two minutes (the protocol's limit), more than any test runs. */
export const MAX_CURVE_BINS = RATE_CURVE_MAX_BINS;


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
 * The first `skipBins` are outside the fit; the segments need `minBefore` and `minAfter` bins (the later one
 * carries the figure, so it needs more).
 */
export function findStep(kbps: readonly number[], opts: { skipBins: number; minBefore: number; minAfter: number; minStepRatio: number }): Step | undefined {
  const r = kbps.slice(opts.skipBins);
  const n = r.length;
  if (n < opts.minBefore + opts.minAfter) return undefined;
  const sum = [0];
  const sq = [0];
  for (const x of r) {
    sum.push(sum.at(-1)! + x);
    sq.push(sq.at(-1)! + x * x);
  }
  const sse = (a: number, b: number) => sq[b]! - sq[a]! - (sum[b]! - sum[a]!) ** 2 / (b - a);
  let best = -1;
  let bestSse = Infinity;
  for (let k = opts.minBefore; k <= n - opts.minAfter; k++) {
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
    return k.length ? k.map((x) => Math.min(9_999_999, Math.round(x))).join(',') : undefined;
  }
}

/** What a test expects of its link before it starts (boost-profile.ts). */
export interface SustainedPlan {
  /** A learning test: no stop on a stable estimate unless a boost has been seen and passed. */
  long: boolean;
  /** The learned boost of this direction, bytes (0: none). */
  expectedBoostBytes: number;
  /** Its rate, Mbit/s: a test still running at about this rate is still inside a boost (it may have grown). */
  expectedPeakMbps?: number;
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
  private lastMbps?: number;

  constructor(
    private readonly options: BoostOptions,
    private readonly plan: SustainedPlan,
  ) {}

  /** A receiver-side sample (the same the estimator gets). */
  add(t: number, bytes: number, estimator: RateEstimator): void {
    this.curve.add(t, bytes);
    this.lastMbps = estimator.estimate().mbps;
    // Boost handling off: the curve is kept, the figure is the estimator's from the warm-up (as before boosts).
    if (!this.options.enabled) return;
    const n = this.curve.edges.length - 1;
    if (n === this.bins) return;
    this.bins = n;
    const step = findStep(this.curve.kbps(), {
      // The first bin holds the connection's own start; a boost may be short, so its segment may be too.
      skipBins: 1,
      minBefore: 2,
      // After the step: the settling and a second of steady rate.
      minAfter: SETTLE_BINS + Math.ceil(1000 / CURVE_BIN_MS),
      minStepRatio: this.options.minStepRatio,
    });
    this.step = step;
    const t0 = this.curve.startedAt!;
    // Never before the warm-up ends (the estimator keeps to that); past a boost and its settling; from a ramp's top.
    estimator.measureFrom(step ? t0 + this.fromBin(step) * CURVE_BIN_MS : undefined);
  }

  private fromBin(step: Step): number {
    return step.bin + (step.kind === 'boost' ? SETTLE_BINS : 0);
  }

  /**
   * Whether the test has seen enough of the link to stop once its estimate (`mbps`) is stable: past a boost seen
   * in this test; or, with a learned boost, past its bytes (with the margin) and no longer at about its rate (a
   * boost that grew since it was learned); a learning test only past a boost (else it runs to its end).
   */
  mayStop(bytes: number, mbps: number | undefined): boolean {
    if (!this.options.enabled) return true;
    if (this.step?.kind === 'boost') return true;
    if (this.plan.long) return false;
    if (this.plan.expectedBoostBytes <= 0) return true;
    return !this.maybeInBoost(bytes, mbps);
  }

  /** Short of the learned boost's bytes, or still at about its rate. */
  private maybeInBoost(bytes: number, mbps: number | undefined): boolean {
    const { expectedBoostBytes, expectedPeakMbps } = this.plan;
    if (expectedBoostBytes <= 0) return false;
    const stillAtPeak = expectedPeakMbps !== undefined && mbps !== undefined && mbps * this.options.minStepRatio >= expectedPeakMbps;
    return bytes < expectedBoostBytes * this.options.margin || stillAtPeak;
  }

  summary(bytes: number): SustainedSummary {
    const curve = this.curve.encode();
    const step = this.step;
    const edges = this.curve.edges;
    const boost =
      step?.kind === 'boost'
        ? {
            // The boost's mean rate (bytes over time, the first bin's connection start left out): a median of
            // bins reads a noisy boost low or high, bytes over time is what the boost delivered.
            peakMbps: step.bin > 1 ? ((edges[step.bin]! - edges[1]!) * 8) / ((step.bin - 1) * CURVE_BIN_MS * 1000) : step.beforeKbps / 1000,
            bytes: Math.round(edges[step.bin]! - edges[0]!),
            ms: step.bin * CURVE_BIN_MS,
          }
        : undefined;
    return {
      ...(curve ? { curve } : {}),
      ...(step ? { step, sustainedFromMs: this.fromBin(step) * CURVE_BIN_MS } : {}),
      ...(boost ? { boost } : {}),
      insideBoost: this.options.enabled && !boost && this.maybeInBoost(bytes, this.lastMbps),
    };
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The result fields of what a tracker saw (protocol/results.ts ThroughputFields, docs/data-model.md). */
export function sustainedFields(seen: SustainedSummary, plan: SustainedPlan): Partial<ThroughputFields> {
  return {
    ...(seen.curve ? { curve_kbps: seen.curve, curve_bin_ms: CURVE_BIN_MS } : {}),
    boost: seen.boost !== undefined,
    ...(seen.boost ? { boost_peak_mbps: round3(seen.boost.peakMbps), boost_bytes: seen.boost.bytes, boost_ms: seen.boost.ms } : {}),
    ...(seen.sustainedFromMs !== undefined ? { sustained_from_ms: seen.sustainedFromMs } : {}),
    boost_learning: plan.long,
    ...(plan.expectedBoostBytes > 0 ? { boost_expected_bytes: Math.round(plan.expectedBoostBytes) } : {}),
  };
}
