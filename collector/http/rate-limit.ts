// Token buckets in memory, keyed by device id (a school's devices share one NAT address, so a limit per
// address would punish a whole school for one busy agent) or by client address for unauthenticated
// failures (enrollment codes, admin token). Each collector process limits on its own: behind a load
// balancer with N collectors a device may get up to N times the rate, which is still bounded.

export interface RateLimit {
  /** Tokens a key may spend at once. */
  burst: number;
  /** Tokens added back per second. */
  perSecond: number;
}

export interface TakeResult {
  ok: boolean;
  /** Whole seconds until one token is available again (for Retry-After); 0 when ok. */
  retryAfterS: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Upper bound on tracked keys; idle buckets (full again) are the first to go, so memory stays bounded. */
const DEFAULT_MAX_KEYS = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly limit: RateLimit,
    private readonly clock: () => number = Date.now,
    private readonly maxKeys = DEFAULT_MAX_KEYS,
  ) {
    if (!(limit.burst >= 1) || !(limit.perSecond > 0)) throw new Error('a rate limit needs burst >= 1 and perSecond > 0');
  }

  private refill(key: string): Bucket {
    const now = this.clock();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.evict(now);
      bucket = { tokens: this.limit.burst, at: now };
      this.buckets.set(key, bucket);
      return bucket;
    }
    const elapsedS = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + elapsedS * this.limit.perSecond);
    bucket.at = now;
    return bucket;
  }

  private evict(now: number): void {
    // Drop every bucket that has refilled completely: forgetting it changes nothing for its key.
    const fullAfterMs = (this.limit.burst / this.limit.perSecond) * 1000;
    for (const [key, b] of this.buckets) if (now - b.at >= fullAfterMs) this.buckets.delete(key);
    // Still full of active keys (a flood of distinct keys): drop the oldest half rather than grow.
    if (this.buckets.size >= this.maxKeys) {
      let n = Math.ceil(this.buckets.size / 2);
      for (const key of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }

  private wait(bucket: Bucket, cost: number): number {
    return Math.max(1, Math.ceil((cost - bucket.tokens) / this.limit.perSecond));
  }

  /** Spends `cost` tokens if the key has them. */
  take(key: string, cost = 1): TakeResult {
    const bucket = this.refill(key);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { ok: true, retryAfterS: 0 };
    }
    return { ok: false, retryAfterS: this.wait(bucket, cost) };
  }

  /** Whether the key could spend a token now, without spending it (used before work that only failures pay for). */
  peek(key: string): TakeResult {
    const bucket = this.refill(key);
    return bucket.tokens >= 1 ? { ok: true, retryAfterS: 0 } : { ok: false, retryAfterS: this.wait(bucket, 1) };
  }

  /** Spends a token even if that goes below zero: a failure is counted whatever the balance. */
  charge(key: string): void {
    const bucket = this.refill(key);
    bucket.tokens = Math.max(-this.limit.burst, bucket.tokens - 1);
  }

  get size(): number {
    return this.buckets.size;
  }
}

export interface Limits {
  /** Measurement requests per device. */
  device: RateLimit;
  /** Failed enrollments and failed admin logins per client address. */
  authFailures: RateLimit;
}

/**
 * Defaults. An agent sends one batch at a time, normally one a minute or less; after a long outage it
 * drains its queue back to back, and 30 at once then one a second clears 100 000 results (500 batches of
 * 200) in about 8 minutes. A school enrolling a few PCs with a typo or two never meets the failure limit;
 * someone trying codes gets 10, then one every 2 minutes.
 */
export const DEFAULT_LIMITS: Limits = {
  device: { burst: 30, perSecond: 1 },
  authFailures: { burst: 10, perSecond: 1 / 120 },
};
