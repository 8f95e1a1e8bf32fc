// The outage tracker (docs/uptime.md#outages). Pure functions over the ongoing outage the caller persists:
// consecutive failed checks of one kind make one interval; the first check that no longer fails that way
// ends it (recovered, at that check). A stop or a device-off gap ends it at the last failed check.
import { z } from 'zod';
import { OUTAGE_KINDS, type CheckState, type OutageKind, type Result } from '../../protocol/results.ts';

export const OngoingOutage = z
  .object({
    kind: z.enum(OUTAGE_KINDS),
    startAt: z.number().int(),
    lastFailedAt: z.number().int(),
    checks: z.number().int().min(1),
  })
  .strict();
export type OngoingOutage = z.infer<typeof OngoingOutage>;

export type EndReason = 'recovered' | 'device_off' | 'agent_stopped';

/** The deterministic id of an outage's point: a resend, or a re-end after a crash, overwrites the same point. */
export const outageResultId = (o: Pick<OngoingOutage, 'kind' | 'startAt'>, deviceTag: string): string =>
  `out-${o.kind.replace('_down', '')}-${o.startAt.toString(36)}-${deviceTag}`;

export function outageResult(o: OngoingOutage, endAt: number, endedBy: EndReason, deviceTag: string): Result {
  return {
    id: outageResultId(o, deviceTag),
    probe: 'outage',
    kind: o.kind,
    target: 'link',
    measuredAt: o.startAt,
    code: 'ok',
    fields: { end_at: endAt, duration_s: Math.max(0, endAt - o.startAt) / 1000, checks_failed: o.checks, ended_by: endedBy },
  };
}

/** Feeds one check; returns the outage now ongoing (if any) and the one this check ended (if any). */
export function trackCheck(ongoing: OngoingOutage | undefined, at: number, state: CheckState, deviceTag: string): { ongoing?: OngoingOutage; ended?: Result } {
  const kind: OutageKind | undefined = state === 'up' ? undefined : state;
  if (ongoing && ongoing.kind === kind) return { ongoing: { ...ongoing, lastFailedAt: at, checks: ongoing.checks + 1 } };
  const ended = ongoing ? outageResult(ongoing, at, 'recovered', deviceTag) : undefined;
  const started = kind ? { kind, startAt: at, lastFailedAt: at, checks: 1 } : undefined;
  return { ...(started ? { ongoing: started } : {}), ...(ended ? { ended } : {}) };
}

/** Ends an outage without a successful check: what happened after the last failed check is unknown. */
export function endWithoutRecovery(ongoing: OngoingOutage, reason: 'device_off' | 'agent_stopped', deviceTag: string): Result {
  return outageResult(ongoing, ongoing.lastFailedAt, reason, deviceTag);
}
