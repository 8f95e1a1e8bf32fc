import { describe, expect, it } from 'vitest';
import { RateEstimator } from './estimator.ts';

const opts = { warmupMs: 1000, minSteadyMs: 1500, tolerancePct: 2 };
/** Feeds a transfer: `rate(t)` in Mbit/s, sampled every 50 ms for `ms`. */
function feed(e: RateEstimator, ms: number, rate: (t: number) => number): void {
  let bytes = 0;
  for (let t = 0; t <= ms; t += 50) {
    e.add(t, bytes);
    bytes += (rate(t) * 1e6 * 0.05) / 8;
  }
}

describe('rate estimator', () => {
  it('discards the warm-up and reads the steady rate', () => {
    const e = new RateEstimator(opts);
    feed(e, 4000, (t) => (t < 1000 ? 40 : 10)); // a burst in the warm-up, then 10 Mbit/s
    expect(e.estimate().mbps).toBeCloseTo(10, 1);
    expect(e.estimate().steadyMs).toBe(3000);
  });

  it('is stable on a flat rate after minSteadyMs, not before', () => {
    const e = new RateEstimator(opts);
    feed(e, 2000, () => 8);
    expect(e.stable()).toBe(false);
    const f = new RateEstimator(opts);
    feed(f, 3000, () => 8);
    expect(f.stable()).toBe(true);
  });

  it('is not stable while the rate still climbs', () => {
    const e = new RateEstimator(opts);
    feed(e, 4000, (t) => t / 100); // 0 → 40 Mbit/s
    expect(e.stable()).toBe(false);
  });

  it('ignores samples that go back in time or in bytes', () => {
    const e = new RateEstimator(opts);
    e.add(0, 0);
    e.add(100, 1000);
    e.add(50, 5000);
    e.add(200, 500);
    expect(e.estimate().bytes).toBe(1000);
  });
});
