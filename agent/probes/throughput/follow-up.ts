// What a throughput run asks of the plan afterwards: a test postponed on a busy line is tried again later
// (bounded, within the school day), and a download under the floor is confirmed by one more test within the
// hour. Pure; the plan (plan.ts) keeps the slots. docs/throughput.md "Busy line" and "Confirmation".
import type { ThroughputOptions } from '../../../protocol/probe-options/throughput.ts';
import type { Result } from '../../../protocol/results.ts';
import type { RunSlot } from '../types.ts';

export interface PlannedSlot {
  at: number;
  kind: RunSlot['kind'];
  postponed: number;
  confirms?: string;
  confirmsMbps?: number;
  /** A confirmation: it runs before this moment (the hour after the test it confirms) or not at all. */
  deadline?: number;
}

const CONFIRM_WITHIN_MS = 60 * 60_000;

/** The end of a slot's window: a confirmation's own hour (also past the school day's end), else the school day. */
const windowEnd = (slot: PlannedSlot, dayEnd: number) => slot.deadline ?? dayEnd;

export interface FollowUpOptions {
  busyLine: Pick<ThroughputOptions['busyLine'], 'postponeMinutes' | 'maxPostpones'>;
  confirm: ThroughputOptions['confirm'];
}

/** What the probe is told about a slot: lastTry when no retry is left (the limit, or past its window's end). */
export function runSlot(slot: PlannedSlot, o: FollowUpOptions, dayEnd: number): RunSlot {
  const lastTry = slot.postponed >= o.busyLine.maxPostpones || slot.at + o.busyLine.postponeMinutes * 60_000 >= windowEnd(slot, dayEnd);
  return { kind: slot.kind, postponed: slot.postponed, lastTry, ...(slot.confirms ? { confirms: slot.confirms } : {}), ...(slot.confirmsMbps !== undefined ? { confirmsMbps: slot.confirmsMbps } : {}) };
}

export function followUps(results: Result[], slot: PlannedSlot, o: FollowUpOptions, now: number, dayEnd: number, random: () => number = Math.random): PlannedSlot[] {
  const tp = results.filter((r): r is Extract<Result, { probe: 'throughput' }> => r.probe === 'throughput');
  // Postponed: the run stopped before testing because the line was busy; try again later the same day.
  if (tp.some((r) => r.code === 'unavailable' && r.fields.busy === true && r.fields.bytes === 0)) {
    const at = now + o.busyLine.postponeMinutes * 60_000;
    if (slot.postponed < o.busyLine.maxPostpones && at < windowEnd(slot, dayEnd)) return [{ ...slot, at, kind: slot.kind === 'confirmation' ? 'confirmation' : 'retry', postponed: slot.postponed + 1 }];
    return [];
  }
  // A download under the floor: one confirmation within the hour (never a confirmation of a confirmation).
  const c = o.confirm;
  const bad = tp.find((r) => r.direction === 'download' && r.code === 'ok' && r.fields.mbps !== undefined && r.fields.mbps < c.belowMbps);
  if (c.enabled && bad && slot.kind !== 'confirmation') {
    const delay = (c.minDelayMinutes + random() * (c.maxDelayMinutes - c.minDelayMinutes)) * 60_000;
    return [{ at: now + delay, kind: 'confirmation', postponed: 0, confirms: bad.id, confirmsMbps: bad.fields.mbps!, deadline: now + CONFIRM_WITHIN_MS }];
  }
  return [];
}
