// Steady-state rate of one transfer, from the receiver's cumulative byte count over time, and the rule that
// ends a test early once more data would not change the figure. See docs/throughput.md ("Adaptive length").

export interface EstimatorOptions {
  /** Discarded from the start: TCP slow start and any token-bucket burst. */
  warmupMs: number;
  /** Steady-state time needed before the test may stop early. */
  minSteadyMs: number;
  /** The estimate counts as stable when it moved less than this (percent) over the last second ... */
  tolerancePct: number;
}

export interface Estimate {
  /** Steady-state rate in Mbit/s (10^6 bit/s), or undefined before any steady-state data. */
  mbps?: number;
  /** Time since the first byte, ms. */
  elapsedMs: number;
  /** Bytes counted since the first byte. */
  bytes: number;
  /** Steady-state time behind the estimate, ms. */
  steadyMs: number;
}

/** (time in ms on any monotonic clock, cumulative bytes) */
type Sample = [number, number];

const toMbps = (bytes: number, ms: number) => (bytes * 8) / (ms * 1000);

export class RateEstimator {
  private readonly samples: Sample[] = [];
  private warm?: Sample;
  /** Where the steady state starts when not at the end of the warm-up (past a boost or a slow ramp). */
  private from?: number;

  constructor(readonly options: EstimatorOptions) {}

  /** A cumulative count at time t; samples must come in time order (a step back in time is ignored). */
  add(t: number, bytes: number): void {
    const last = this.samples.at(-1);
    if (last && (t < last[0] || bytes < last[1])) return;
    if (last && t === last[0]) {
      last[1] = bytes;
    } else {
      this.samples.push([t, bytes]);
      if (this.samples.length > 20_000) this.samples.splice(1, 10_000); // bounded: keep the first and the recent half
    }
    const first = this.samples[0]!;
    if (!this.warm && t - first[0] >= this.options.warmupMs) this.warm = this.valueAt(first[0] + this.options.warmupMs);
    if (this.from !== undefined && this.warm && this.warm[0] < this.from && t >= this.from) this.warm = this.valueAt(this.from);
  }

  /**
   * Measures the steady state from time t on (a step in the rate curve: sustained.ts) instead of from the end
   * of the warm-up; undefined goes back to the warm-up. Never earlier than the warm-up's end.
   */
  measureFrom(t: number | undefined): void {
    const first = this.samples[0];
    if (!first) return;
    const warmEnd = first[0] + this.options.warmupMs;
    this.from = t === undefined || t <= warmEnd ? undefined : t;
    const last = this.samples.at(-1)!;
    const start = this.from ?? warmEnd;
    this.warm = last[0] >= start ? this.valueAt(start) : undefined;
  }

  get started(): boolean {
    return this.samples.length > 0;
  }

  /** The cumulative count at time t (linear between samples). */
  private valueAt(t: number): Sample {
    const s = this.samples;
    let lo = 0;
    let hi = s.length - 1;
    if (t <= s[0]![0]) return [t, s[0]![1]];
    if (t >= s[hi]![0]) return [t, s[hi]![1]];
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (s[mid]![0] <= t) lo = mid;
      else hi = mid;
    }
    const [t0, b0] = s[lo]!;
    const [t1, b1] = s[hi]!;
    return [t, b0 + ((b1 - b0) * (t - t0)) / (t1 - t0)];
  }

  /**
   * Steady-state rate between the end of the warm-up and time t (default: the last sample): the least-squares
   * slope of the cumulative count over time. Unlike (bytes at t − bytes at warm-up end) / time, one late read
   * at either end (the receiver's event loop busy for a moment) barely moves it.
   */
  private rateAt(t?: number): number | undefined {
    const last = this.samples.at(-1);
    if (!this.warm || !last) return undefined;
    const from = this.warm[0];
    const to = t ?? last[0];
    let n = 0;
    let st = 0;
    let sb = 0;
    let stt = 0;
    let stb = 0;
    for (const [ts, b] of this.samples) {
      if (ts < from || ts > to) continue;
      const x = ts - from;
      n++;
      st += x;
      sb += b;
      stt += x * x;
      stb += x * b;
    }
    const den = n * stt - st * st;
    if (n < 3 || den <= 0) return undefined;
    const slope = (n * stb - st * sb) / den; // bytes per ms
    return Math.max(0, toMbps(slope, 1));
  }

  estimate(): Estimate {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last) return { elapsedMs: 0, bytes: 0, steadyMs: 0 };
    const mbps = this.rateAt();
    return {
      ...(mbps !== undefined ? { mbps } : {}),
      elapsedMs: last[0] - first[0],
      bytes: last[1] - first[1],
      steadyMs: this.warm ? last[0] - this.warm[0] : 0,
    };
  }

  /**
   * Stable when: at least minSteadyMs of steady state; the estimate moved less than tolerancePct over the
   * last second and less than half of it over the last half second; and the rate of that last second alone
   * is within 4 × tolerancePct of the estimate (so a rate still climbing or falling does not pass).
   */
  stable(): boolean {
    const last = this.samples.at(-1);
    if (!this.warm || !last) return false;
    const { minSteadyMs, tolerancePct } = this.options;
    if (last[0] - this.warm[0] < Math.max(minSteadyMs, 1000)) return false;
    const now = this.rateAt()!;
    if (!(now > 0)) return false;
    const before1s = this.rateAt(last[0] - 1000);
    const before500 = this.rateAt(last[0] - 500);
    if (before1s === undefined || before500 === undefined) return false;
    const a = this.valueAt(last[0] - 1000);
    const recent = toMbps(last[1] - a[1], 1000);
    const tol = tolerancePct / 100;
    return (
      Math.abs(now - before1s) / now <= tol &&
      Math.abs(now - before500) / now <= tol / 2 &&
      Math.abs(recent - now) / now <= 4 * tol
    );
  }
}
