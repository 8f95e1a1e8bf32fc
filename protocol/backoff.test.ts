import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

describe('backoff', () => {
  it('full jitter: a random wait under an exponential cap (the control channel reconnecting)', () => {
    const policy = { initialMs: 1000, maxMs: 300_000, jitter: 'full' as const };
    expect(backoffDelay(0, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(4000);
    expect(backoffDelay(40, policy, () => 0.999)).toBe(299_700);
    expect(backoffDelay(5, policy, () => 0)).toBe(0);
  });

  it('equal jitter: never under half the step (uploads)', () => {
    const policy = { initialMs: 100, maxMs: 1_000, jitter: 'equal' as const };
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect(backoffDelay(2, policy, () => 1)).toBe(400);
  });

  it('no jitter: the step itself, and a negative attempt counts as the first (alert deliveries)', () => {
    const policy = { initialMs: 30_000, maxMs: 3_600_000, jitter: 'none' as const };
    expect([-1, 0, 1, 2, 10].map((n) => backoffDelay(n, policy))).toEqual([30_000, 30_000, 60_000, 120_000, 3_600_000]);
  });

  it('stays finite for any attempt count', () => {
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, { initialMs: 1, maxMs: 10, jitter: 'none' })).toBe(10);
  });
});
