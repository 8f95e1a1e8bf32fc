import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.ts';

describe('RateLimiter', () => {
  it('spends a burst, then refills at the rate, per key, and says how long to wait', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 3, perSecond: 0.5 }, () => now);
    for (let i = 0; i < 3; i++) expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterS: 2 });
    expect(limiter.take('b').ok).toBe(true);
    now += 1000;
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterS: 1 });
    now += 1000;
    expect(limiter.take('a').ok).toBe(true);
    now += 3_600_000;
    for (let i = 0; i < 3; i++) expect(limiter.take('a').ok).toBe(true); // never more than the burst
    expect(limiter.take('a').ok).toBe(false);
  });

  it('peek does not spend; charge spends even below zero, so failures keep counting', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 2, perSecond: 1 / 60 }, () => now);
    expect(limiter.peek('ip').ok).toBe(true);
    for (let i = 0; i < 5; i++) limiter.charge('ip');
    expect(limiter.peek('ip')).toEqual({ ok: false, retryAfterS: 180 });
    now += 180_000;
    expect(limiter.peek('ip').ok).toBe(true);
  });

  it('keeps memory bounded under a flood of distinct keys', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 1, perSecond: 1 }, () => now, 1000);
    for (let i = 0; i < 10_000; i++) {
      limiter.take(`k${i}`);
      if (i % 100 === 0) now += 10;
    }
    expect(limiter.size).toBeLessThanOrEqual(1000);
  });
});
