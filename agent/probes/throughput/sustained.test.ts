import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ThroughputFields } from '../../../protocol/results.ts';
import { BoostProfile } from './boost-profile.ts';
import { RateEstimator } from './estimator.ts';
import { BoostOptions } from '../../../protocol/probe-options/throughput.ts';
import { CURVE_BIN_MS, findStep, RateCurve, sustainedFields, SustainedTracker } from './sustained.ts';

const opts = BoostOptions.parse({});
const est = () => new RateEstimator({ warmupMs: 1000, minSteadyMs: 1500, tolerancePct: 2 });

/** Feeds a transfer at `peak` Mbit/s for `boostBytes`, then `rate` Mbit/s, sampled every 50 ms for `ms`. */
function feed(tracker: SustainedTracker, estimator: RateEstimator, peak: number, boostBytes: number, rate: number, ms: number): number {
  let bytes = 0;
  for (let t = 0; t <= ms; t += 50) {
    estimator.add(t, bytes);
    tracker.add(t, bytes, estimator);
    bytes += ((bytes < boostBytes ? peak : rate) * 1e6 * 0.05) / 8;
  }
  return bytes;
}

describe('findStep', () => {
  it('finds a step down (boost) and a step up (ramp); a flat curve has none', () => {
    const flat = Array(40).fill(10_000);
    expect(findStep(flat, { skipBins: 1, minBefore: 2, minAfter: 8, minStepRatio: 1.3 })).toBeUndefined();
    const boost = [...Array(16).fill(40_000), ...Array(24).fill(10_000)];
    expect(findStep(boost, { skipBins: 1, minBefore: 2, minAfter: 8, minStepRatio: 1.3 })).toMatchObject({ bin: 16, kind: 'boost', beforeKbps: 40_000, afterKbps: 10_000 });
    const ramp = [...Array(12).fill(3_000), ...Array(28).fill(9_000)];
    expect(findStep(ramp, { skipBins: 0, minBefore: 2, minAfter: 8, minStepRatio: 1.3 })).toMatchObject({ bin: 12, kind: 'ramp' });
    // A 20 % wobble is not a boost.
    const wobble = [...Array(20).fill(11_000), ...Array(20).fill(9_500)];
    expect(findStep(wobble, { skipBins: 1, minBefore: 2, minAfter: 8, minStepRatio: 1.3 })).toBeUndefined();
  });
});

describe('RateCurve', () => {
  it('bins cumulative counts into kbit/s per 250 ms, encoded as digits and commas the protocol accepts', () => {
    const c = new RateCurve();
    // 8 Mbit/s = 1 000 000 bytes/s = 250 000 bytes per bin, sampled irregularly.
    for (const t of [0, 40, 130, 260, 400, 510, 760, 1000, 1010]) c.add(t, t * 1000);
    expect(c.kbps()).toEqual([8000, 8000, 8000, 8000]);
    const encoded = c.encode()!;
    expect(encoded).toBe('8000,8000,8000,8000');
    expect(ThroughputFields.shape.curve_kbps.safeParse(encoded).success).toBe(true);
    for (const bad of ['8000,', '1,2\n3', '-1', '1.5', 'x', `1${',1'.repeat(480)}`]) expect(ThroughputFields.shape.curve_kbps.safeParse(bad).success).toBe(false);
  });
});

describe('SustainedTracker', () => {
  it('reports the rate after a boost, with the boost peak and bytes', () => {
    const e = est();
    const t = new SustainedTracker(opts, { long: true, expectedBoostBytes: 0 });
    const bytes = feed(t, e, 40, 10e6, 10, 6000);
    const s = t.summary(bytes);
    expect(s.boost!.peakMbps).toBeCloseTo(40, 0);
    expect(s.boost!.bytes / 10e6).toBeGreaterThan(0.95);
    expect(s.boost!.bytes / 10e6).toBeLessThan(1.1);
    expect(e.estimate().mbps!).toBeCloseTo(10, 1);
    expect(t.mayStop(bytes, 10)).toBe(true);
    const f = sustainedFields(s, { long: true, expectedBoostBytes: 0 });
    expect(f).toMatchObject({ boost: true, boost_learning: true, curve_bin_ms: CURVE_BIN_MS });
    expect(f.curve_kbps!.split(',').length).toBe(24);
  });

  it('holds the stop until past a learned boost; a learning test never stops without seeing one', () => {
    const plain = new SustainedTracker(opts, { long: false, expectedBoostBytes: 0 });
    expect(plain.mayStop(0, 10)).toBe(true);
    const learned = new SustainedTracker(opts, { long: false, expectedBoostBytes: 8e6, expectedPeakMbps: 40 });
    expect(learned.mayStop(9e6, 10)).toBe(false);
    expect(learned.mayStop(10.1e6, 10)).toBe(true);
    // Past the learned bytes but still at the learned peak: the boost grew; keep going.
    expect(learned.mayStop(10.1e6, 38)).toBe(false);
    expect(learned.summary(5e6).insideBoost).toBe(true);
    const learning = new SustainedTracker(opts, { long: true, expectedBoostBytes: 0 });
    const e = est();
    const bytes = feed(learning, e, 10, 0, 10, 5000);
    expect(learning.mayStop(bytes, 10)).toBe(false);
    expect(learning.summary(bytes).boost).toBeUndefined();
    const off = new SustainedTracker({ ...opts, enabled: false }, { long: true, expectedBoostBytes: 0 });
    expect(off.mayStop(0, 10)).toBe(true);
    // Off: no step, the figure averages the boost in (what a test without boost handling reports).
    const e2 = est();
    const offBytes = feed(off, e2, 40, 10e6, 10, 6000);
    expect(off.summary(offBytes).boost).toBeUndefined();
    expect(off.summary(offBytes).curve).toBeDefined();
    expect(e2.estimate().mbps!).toBeGreaterThan(12);
  });
});

describe('BoostProfile', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('learns with a long test, keeps the largest boost seen, relearns after relearnDays, survives a damaged file', () => {
    dir = mkdtempSync(join(tmpdir(), 'songcheck-boost-'));
    const p = new BoostProfile(dir);
    const day = 86_400_000;
    const first = p.plan('download', 's:80', opts, 0);
    expect(first).toEqual({ long: true, expectedBoostBytes: 0 });
    const boost = { insideBoost: false, boost: { peakMbps: 40, bytes: 12e6, ms: 2400 } };
    p.record('download', 's:80', first, boost, true, 0);
    expect(p.plan('download', 's:80', opts, day)).toEqual({ long: false, expectedBoostBytes: 12e6, expectedPeakMbps: 40 });
    expect(p.plan('upload', 's:80', opts, day).long).toBe(true);
    // A cut test teaches nothing; a standard test that saw a bigger boost raises it.
    p.record('download', 's:80', { long: false, expectedBoostBytes: 12e6 }, { insideBoost: false, boost: { peakMbps: 40, bytes: 30e6, ms: 6000 } }, false, day);
    expect(p.plan('download', 's:80', opts, day).expectedBoostBytes).toBe(12e6);
    p.record('download', 's:80', { long: false, expectedBoostBytes: 12e6 }, { insideBoost: false, boost: { peakMbps: 40, bytes: 15e6, ms: 3000 } }, true, day);
    expect(p.plan('download', 's:80', opts, day).expectedBoostBytes).toBe(15e6);
    expect(p.plan('download', 's:80', opts, 8 * day)).toEqual({ long: true, expectedBoostBytes: 15e6, expectedPeakMbps: 40 });
    // A learning test without a boost forgets it.
    p.record('download', 's:80', { long: true, expectedBoostBytes: 15e6 }, { insideBoost: false }, true, 8 * day);
    expect(p.plan('download', 's:80', opts, 9 * day)).toEqual({ long: false, expectedBoostBytes: 0 });
    writeFileSync(p.file, '{"version":1,"links":{"download s:80":{"learnedAt":"x"}}}');
    expect(p.plan('download', 's:80', opts, 9 * day).long).toBe(true);
  });
});
