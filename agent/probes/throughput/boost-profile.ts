// What the agent has learned about its link's boost, per direction and server: the bytes a boost lasted (0: a
// learning test saw none) and when it last ran a learning test. A small JSON file in the data directory,
// replaced atomically; a damaged or missing file means "learn again" (one long test per direction).
//
// Why learn instead of always running long: a test cannot know a boost is there until it has run past it, and
// running past the largest plausible boost on every test would cost more than the fixed 10 s test it replaces.
// A token bucket refills while the link rests (hours between tests), so each test meets the same boost: the
// learned bytes tell the next tests how far to run. See docs/throughput.md ("Boosts and the sustained rate").
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../platform/atomic-file.ts';
import type { BoostOptions } from '../../../protocol/probe-options/throughput.ts';
import type { SustainedPlan, SustainedSummary } from './sustained.ts';
import type { Direction } from './transfer.ts';

const Entry = z.object({
  /** Epoch ms of the last learning (long) test. */
  learnedAt: z.number(),
  /** Bytes from the first byte to the step down, largest recently seen; 0: none. */
  boostBytes: z.number().min(0),
  peakMbps: z.number().min(0).optional(),
  /** Epoch ms a boost was last seen (any test). */
  seenAt: z.number().optional(),
});
type Entry = z.infer<typeof Entry>;
const File = z.object({ version: z.literal(1), links: z.record(z.string(), Entry) });

const DAY_MS = 86_400_000;

export class BoostProfile {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'throughput-boost.json');
  }

  private load(): Record<string, Entry> {
    if (!existsSync(this.file)) return {};
    try {
      const parsed = File.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
      return parsed.success ? parsed.data.links : {};
    } catch {
      return {};
    }
  }

  private static key(direction: Direction, server: string): string {
    return `${direction} ${server}`;
  }

  /** This test's plan: a learning test when nothing is known or the knowledge is older than relearnDays. */
  plan(direction: Direction, server: string, options: BoostOptions, now: number): SustainedPlan {
    if (!options.enabled) return { long: false, expectedBoostBytes: 0 };
    const e = this.load()[BoostProfile.key(direction, server)];
    const learned = { expectedBoostBytes: e?.boostBytes ?? 0, ...(e?.boostBytes && e.peakMbps ? { expectedPeakMbps: e.peakMbps } : {}) };
    if (!e || now - e.learnedAt > options.relearnDays * DAY_MS || now < e.learnedAt) return { long: true, ...learned };
    return { long: false, ...learned };
  }

  /**
   * Records what a test saw. A learning test that ran to its end replaces the entry (boost or none); any test
   * that saw a boost raises the learned bytes (a boost larger than learned is the costly mistake: the test would
   * stop inside it). A failed or cut test teaches nothing.
   */
  record(direction: Direction, server: string, plan: SustainedPlan, seen: SustainedSummary, completed: boolean, now: number): void {
    // A test that ended inside the learned boost (it outgrew the test) teaches nothing either: the next is a
    // learning test again when this one was.
    if (!completed || seen.insideBoost) return;
    const links = this.load();
    const key = BoostProfile.key(direction, server);
    const old = links[key];
    const boost = seen.boost;
    if (plan.long) {
      links[key] = { learnedAt: now, boostBytes: boost?.bytes ?? 0, ...(boost ? { peakMbps: boost.peakMbps, seenAt: now } : {}) };
    } else if (boost && old) {
      links[key] = { ...old, boostBytes: Math.max(old.boostBytes, boost.bytes), peakMbps: boost.peakMbps, seenAt: now };
    } else {
      return;
    }
    writeFileAtomic(this.file, JSON.stringify({ version: 1, links }) + '\n', 0o600);
  }
}
