// Degraded throughput: M of the last N download tests under the site's profile floor, each CONFIRMED: the agent
// runs one more test within the hour after a test under the floor (its result names the first in
// `confirmation_of`), and only a test whose confirmation was under the floor too counts (docs/alerts.md). It
// clears when at most `clearCount` of the last N are under it (a test under the floor whose confirmation has not
// arrived yet still counts for clearing), so one good test in a bad run does not end the incident. Tests flagged
// for cross traffic, the school's own network or a limited test server are not the operator's and are skipped.
import { z } from 'zod';
import type { Observation, RuleKind } from '../types.ts';
import { bySite, ms, num } from './query-rows.ts';

const params = z
  .object({
    lastN: z.number().int().min(1).max(100).default(5),
    raiseCount: z.number().int().min(1).max(100).default(3),
    clearCount: z.number().int().min(0).max(100).default(1),
    /** Overrides the profile's floor (Mbit/s) for every site. */
    floorMbps: z.number().positive().optional(),
    lookbackDays: z.number().int().min(1).max(60).default(7),
    /** false: every test under the floor counts, confirmed or not (agents older than confirmation tests). */
    requireConfirmation: z.boolean().default(true),
  })
  .strict()
  .refine((p) => p.raiseCount <= p.lastN, { message: 'raiseCount must be at most lastN', path: ['raiseCount'] })
  .refine((p) => p.clearCount < p.raiseCount, { message: 'clearCount must be below raiseCount (hysteresis)', path: ['clearCount'] });

export const degradedThroughput: RuleKind<typeof params> = {
  kind: 'degraded_throughput',
  title: { en: 'Degraded download speed', vi: 'Tốc độ tải xuống thấp' },
  params,
  async evaluate(p, ctx) {
    // Confirmations ride along: up to one per test, so 3 × N rows hold the last N tests and theirs (and flagged ones).
    const q = `SELECT "mbps", "result_id", "confirmation_of", "cross_traffic", "lan_bottleneck", "server_limited" FROM "throughput" WHERE "direction" = 'download' AND "code" = 'ok' AND time > ${ms(ctx.now - p.lookbackDays * 86_400_000)} AND time <= ${ms(ctx.now)} GROUP BY "site" ORDER BY time DESC LIMIT ${p.lastN * 3}`;
    const out: Observation[] = [];
    for (const [siteCode, list] of bySite(await ctx.query(q))) {
      const floor = p.floorMbps ?? ctx.floorFor(siteCode);
      const rows = list.filter((r) => r.cross_traffic !== true && r.lan_bottleneck !== true && r.server_limited !== true && num(r.mbps) !== undefined);
      const confirmations = new Map<string, number>();
      for (const r of rows) if (typeof r.confirmation_of === 'string') confirmations.set(r.confirmation_of, num(r.mbps)!);
      const tests = rows.filter((r) => typeof r.confirmation_of !== 'string').slice(0, p.lastN);
      const values = tests.map((r) => num(r.mbps)!);
      const confirmedOf = (r: (typeof tests)[number]) => (typeof r.result_id === 'string' ? confirmations.get(r.result_id) : undefined);
      const under = tests.filter((r) => num(r.mbps)! < floor && (!p.requireConfirmation || (confirmedOf(r) ?? Infinity) < floor)).length;
      // For clearing, a test under the floor counts unless its confirmation came back at or above it.
      const underForClear = tests.filter((r) => num(r.mbps)! < floor && !((confirmedOf(r) ?? -Infinity) >= floor)).length;
      out.push({
        siteCode,
        // Too few tests is no evidence either way: neither raise nor clear.
        raise: values.length >= p.raiseCount && under >= p.raiseCount,
        clear: values.length > 0 && underForClear <= p.clearCount,
        value: under,
        summary: `${under} of the last ${values.length} download tests under ${floor} Mbit/s${p.requireConfirmation ? ', each confirmed by a second test within the hour' : ''} (latest ${values[0]?.toFixed(1) ?? '?'} Mbit/s)`,
      });
    }
    return out;
  },
};
