// The plan's pending follow-ups (retries of postponed tests, confirmations) kept in the data directory, so a
// restart does not forget them: a school PC is often shut down or restarted, and a test under the floor whose
// confirmation is lost is no evidence for the alert (docs/alerts.md). A small JSON file replaced atomically;
// a damaged or missing file means no pending follow-up.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../platform/atomic-file.ts';
import type { PlannedSlot } from './follow-up.ts';

const Slot = z.object({
  at: z.number(),
  kind: z.enum(['retry', 'confirmation']),
  postponed: z.number().int().min(0),
  confirms: z.string().max(100).optional(),
  confirmsMbps: z.number().min(0).optional(),
  deadline: z.number().optional(),
});
const File = z.object({ version: z.literal(1), slots: z.array(Slot).max(100) });

/** A follow-up due this long ago when the agent starts again is dropped (a confirmation is meant within the hour). */
export const STALE_FOLLOW_UP_MS = 30 * 60_000;

export class FollowUpStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'throughput-follow-ups.json');
  }

  /** The follow-ups saved by the last run that are still worth running at `now`. */
  load(now: number): PlannedSlot[] {
    if (!existsSync(this.file)) return [];
    try {
      const parsed = File.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
      return parsed.success ? parsed.data.slots.filter((s) => s.at >= now - STALE_FOLLOW_UP_MS) : [];
    } catch {
      return [];
    }
  }

  save(slots: PlannedSlot[]): void {
    const followUps = slots.filter((s): s is PlannedSlot & { kind: 'retry' | 'confirmation' } => s.kind !== 'scheduled');
    writeFileAtomic(this.file, JSON.stringify({ version: 1, slots: followUps }) + '\n', 0o600);
  }
}
