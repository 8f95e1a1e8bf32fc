// The retry policy of songcheck, in one place for both sides: after each consecutive failure the wait grows
// exponentially from `initialMs`, capped at `maxMs`, with jitter chosen by what is retrying:
//
// - 'full'  (a random wait in [0, step)): many clients reconnecting to one server after it comes back (the
//           agents' control channel); spreads a fleet the most.
// - 'equal' (half the step fixed, half random): many clients that must not come back too early either
//           (the agents' uploads, which the collector may be refusing on purpose); spreads without hammering.
// - 'none'  (the step itself): one server retrying one receiver on its own schedule (alert deliveries).
//
// Callers apply their own overrides on top (a Retry-After, the longest wait for a refused token): those are
// decisions about one answer, not part of the policy. Pure, so the agent and the collector can both import it.
export type Jitter = 'none' | 'equal' | 'full';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  jitter: Jitter;
}

/** The wait before retry `attempt` (0 = the first retry, after one failure). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  // 2^30 × any sane initial delay is past any cap; the bound keeps the power finite for huge attempt counts.
  const step = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(0, attempt), 30));
  switch (policy.jitter) {
    case 'none':
      return step;
    case 'equal':
      return step / 2 + random() * (step / 2);
    case 'full':
      return Math.floor(random() * step);
  }
}
