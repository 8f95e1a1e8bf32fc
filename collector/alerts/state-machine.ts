// One step of the per-site, per-rule state machine: ok → pending → firing → resolved (→ pending again on the
// next raise). Hysteresis comes from two sides: the rule's raise and clear conditions differ (a value
// between them changes nothing), and firing needs `clearAfterChecks` clear evaluations in a row to resolve.
import type { RuleConfig } from './config.ts';
import type { AlertState } from './store.ts';
import type { Observation } from './types.ts';

export type Transition = 'pending' | 'fired' | 'resolved' | 'cancelled';

export function step(prev: AlertState | undefined, obs: Observation, rule: Pick<RuleConfig, 'id' | 'raiseAfterMinutes' | 'clearAfterChecks'>, now: number): { next: AlertState; transition?: Transition } {
  const s: AlertState = prev ? { ...prev } : { ruleId: rule.id, siteCode: obs.siteCode, state: 'ok', since: now, clearStreak: 0 };
  s.value = obs.value;
  s.summary = obs.summary;
  const fire = (): { next: AlertState; transition: Transition } => {
    Object.assign(s, { state: 'firing', since: now, firedAt: now, clearStreak: 0 });
    for (const k of ['resolvedAt', 'notifiedAt', 'lastNotifiedAt', 'ackedAt', 'ackedBy', 'groupId'] as const) delete s[k];
    return { next: s, transition: 'fired' };
  };
  switch (s.state) {
    case 'ok':
    case 'resolved':
      if (!obs.raise) return { next: s };
      s.state = 'pending';
      s.since = now;
      s.pendingSince = now;
      if (rule.raiseAfterMinutes <= 0) return fire();
      return { next: s, transition: 'pending' };
    case 'pending':
      if (!obs.raise) {
        Object.assign(s, { state: 'ok', since: now });
        delete s.pendingSince;
        return { next: s, transition: 'cancelled' };
      }
      if (now - (s.pendingSince ?? now) >= rule.raiseAfterMinutes * 60_000) return fire();
      return { next: s };
    case 'firing':
      if (!obs.clear) {
        s.clearStreak = 0;
        return { next: s };
      }
      s.clearStreak += 1;
      if (s.clearStreak < rule.clearAfterChecks) return { next: s };
      Object.assign(s, { state: 'resolved', since: now, resolvedAt: now, clearStreak: 0 });
      return { next: s, transition: 'resolved' };
  }
}
