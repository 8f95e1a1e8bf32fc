// The 15-minute slot accumulator (docs/uptime.md#slots). Pure functions over a SlotState the caller
// persists: a check adds to the slot it falls in; time between two checks of one run is "observed" (and
// "up" when the earlier check found the school online), split at slot boundaries. A check in a later slot
// closes the open one, which is then sent as one `uptime` result with an id derived from its start, so a
// resend or a re-send of a partial slot overwrites the same point instead of adding one.
import { z } from 'zod';
import type { CheckState, Result } from '../../protocol/results.ts';

export const SLOT_MS = 15 * 60_000;

export const SlotState = z
  .object({
    start: z.number().int(),
    checks: z.number().int().min(0),
    checks_up: z.number().int().min(0),
    checks_collector_down: z.number().int().min(0),
    checks_dns_down: z.number().int().min(0),
    checks_link_down: z.number().int().min(0),
    observed_ms: z.number().min(0),
    up_ms: z.number().min(0),
  })
  .strict();
export type SlotState = z.infer<typeof SlotState>;

export const slotStartOf = (at: number): number => Math.floor(at / SLOT_MS) * SLOT_MS;

/** A check state that means the school had Internet. */
export const countsAsUp = (s: CheckState): boolean => s === 'up' || s === 'collector_down';

const emptySlot = (start: number): SlotState => ({
  start,
  checks: 0,
  checks_up: 0,
  checks_collector_down: 0,
  checks_dns_down: 0,
  checks_link_down: 0,
  observed_ms: 0,
  up_ms: 0,
});

/** The time since the previous check of the same run, with what that check found. */
export interface Covered {
  from: number;
  to: number;
  up: boolean;
}

function roller(open: SlotState | undefined, closed: SlotState[]) {
  let slot = open;
  return (start: number): SlotState => {
    if (slot && slot.start !== start) closed.push(slot);
    slot = slot && slot.start === start ? slot : emptySlot(start);
    return slot;
  };
}

/** Adds a span the agent was running (from the previous check to now), split at slot boundaries. */
export function addSpan(open: SlotState | undefined, covered: Covered): { open: SlotState | undefined; closed: SlotState[] } {
  const closed: SlotState[] = [];
  const roll = roller(open, closed);
  let last = open;
  // Bounded: the caller only bridges spans of a few check intervals (at most a couple of slots).
  for (let t = covered.from, guard = 0; t < covered.to && guard < 100; guard++) {
    const s = roll(slotStartOf(t));
    const end = Math.min(covered.to, s.start + SLOT_MS);
    s.observed_ms += end - t;
    if (covered.up) s.up_ms += end - t;
    t = end;
    last = s;
  }
  return { open: last, closed };
}

/**
 * Adds one check at `at` (and the covered span before it, if any). Returns the slot now open and the slots
 * it closed, oldest first. A slot state from an earlier slot (e.g. restored after a restart) is closed too.
 */
export function addCheck(open: SlotState | undefined, at: number, state: CheckState, covered?: Covered): { open: SlotState; closed: SlotState[] } {
  const spanned = covered ? addSpan(open, covered) : { open, closed: [] };
  const closed = spanned.closed;
  const s = roller(spanned.open, closed)(slotStartOf(at));
  s.checks++;
  if (state === 'up') s.checks_up++;
  else if (state === 'collector_down') s.checks_collector_down++;
  else if (state === 'dns_down') s.checks_dns_down++;
  else s.checks_link_down++;
  return { open: s, closed };
}

/** The deterministic id of a slot's point: one per device and slot start. */
export const slotResultId = (slotStart: number, deviceTag: string): string => `up-${slotStart.toString(36)}-${deviceTag}`;

const seconds = (ms: number): number => Math.min(900, Math.round(ms) / 1000);

export function slotResult(slot: SlotState, deviceTag: string): Result {
  return {
    id: slotResultId(slot.start, deviceTag),
    probe: 'uptime',
    target: 'link',
    measuredAt: slot.start,
    code: 'ok',
    fields: {
      checks: slot.checks,
      checks_up: slot.checks_up,
      checks_collector_down: slot.checks_collector_down,
      checks_dns_down: slot.checks_dns_down,
      checks_link_down: slot.checks_link_down,
      observed_s: seconds(slot.observed_ms),
      up_s: seconds(Math.min(slot.up_ms, slot.observed_ms)),
    },
  };
}
