import { describe, expect, it } from 'vitest';
import { LatencyFields } from '../../protocol/results.ts';
import { latencyStats, round3 } from './latency-stats.ts';

describe('latencyStats', () => {
  it('summarises five answers', () => {
    expect(latencyStats([10, 20, 30, 40, 50])).toEqual({
      sent: 5,
      received: 5,
      loss_pct: 0,
      rtt_min_ms: 10,
      rtt_median_ms: 30,
      rtt_mean_ms: 30,
      rtt_p95_ms: 50, // nearest rank: ceil(0.95 * 5) = 5th value
      rtt_max_ms: 50,
      jitter_ms: 10,
    });
  });

  it('skips lost attempts for jitter and counts them for loss', () => {
    // successes in order: 10, 30, 20 -> |30-10| + |20-30| = 30 over 2 differences
    expect(latencyStats([10, null, 30, 20])).toEqual({
      sent: 4,
      received: 3,
      loss_pct: 25,
      rtt_min_ms: 10,
      rtt_median_ms: 20,
      rtt_mean_ms: 20,
      rtt_p95_ms: 30,
      rtt_max_ms: 30,
      jitter_ms: 15,
    });
  });

  it('takes the nearest rank for p95 and averages the middle pair for an even median', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
    const f = latencyStats(twenty);
    expect(f.rtt_p95_ms).toBe(19); // ceil(0.95 * 20) = 19th value
    expect(f.rtt_median_ms).toBe(10.5);
    expect(f.rtt_mean_ms).toBe(10.5);
    expect(f.jitter_ms).toBe(1);
  });

  it('takes jitter in attempt order, not sorted order', () => {
    expect(latencyStats([10, 30, 10, 30]).jitter_ms).toBe(20);
    expect(latencyStats([10, 10, 30, 30]).jitter_ms).toBe(6.667);
  });

  it('omits every rtt field when nothing came back', () => {
    expect(latencyStats([null, null])).toEqual({ sent: 2, received: 0, loss_pct: 100 });
  });

  it('reads total loss when nothing was sent', () => {
    expect(latencyStats([])).toEqual({ sent: 0, received: 0, loss_pct: 100 });
  });

  it('omits jitter with a single answer', () => {
    expect(latencyStats([null, 7.5, null])).toEqual({
      sent: 3,
      received: 1,
      loss_pct: 66.667,
      rtt_min_ms: 7.5,
      rtt_median_ms: 7.5,
      rtt_mean_ms: 7.5,
      rtt_p95_ms: 7.5,
      rtt_max_ms: 7.5,
    });
  });

  it('rounds to 3 decimals', () => {
    const f = latencyStats([1.23456, 2.34567, null]);
    expect(f).toMatchObject({
      loss_pct: 33.333,
      rtt_min_ms: 1.235,
      rtt_max_ms: 2.346,
      rtt_mean_ms: 1.79,
      rtt_median_ms: 1.79,
      jitter_ms: 1.111,
    });
    expect(round3(0.0004)).toBe(0);
  });

  it('always satisfies the protocol schema', () => {
    for (const a of [[], [null], [0], [0.5, 0.5], [3_000, null, 1]]) {
      expect(() => LatencyFields.parse(latencyStats(a))).not.toThrow();
    }
  });
});
