// What the uptime monitor keeps on disk between runs (uptime-state.json in the data directory): whether the
// last run stopped cleanly, when the agent was last alive, the slot being filled and the ongoing outage.
// Written atomically after every check, so a crash leaves the previous check's state, never a torn file.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { OngoingOutage } from './outages.ts';
import { SlotState } from './slots.ts';

export const UptimeState = z
  .object({
    version: z.literal(1),
    /** True from a start until its clean stop: found true at a start, the previous run ended uncleanly. */
    running: z.boolean(),
    /** The "last alive" marker: the wall time of the last check (or start/stop). */
    lastAliveAt: z.number().int().optional(),
    slot: SlotState.optional(),
    outage: OngoingOutage.optional(),
  })
  .strict();
export type UptimeState = z.infer<typeof UptimeState>;

export const freshState = (): UptimeState => ({ version: 1, running: false });

/** A missing file is a first start; an unreadable or invalid one is reported and replaced by a fresh state. */
export function loadUptimeState(file: string, warn: (message: string) => void): UptimeState {
  if (!existsSync(file)) return freshState();
  try {
    const parsed = UptimeState.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.success) return parsed.data;
    warn(`${file} is not a valid uptime state (${parsed.error.issues[0]?.message}); starting a new one`);
  } catch (err) {
    warn(`${file} could not be read (${(err as Error).message}); starting a new one`);
  }
  return freshState();
}

/** Never throws: a full disk costs the restart-continuity of one check, not the agent. */
export function saveUptimeState(file: string, state: UptimeState, warn: (message: string) => void): boolean {
  try {
    writeFileAtomic(file, JSON.stringify(state));
    return true;
  } catch (err) {
    warn(`could not save ${file}: ${(err as Error).message}`);
    return false;
  }
}
