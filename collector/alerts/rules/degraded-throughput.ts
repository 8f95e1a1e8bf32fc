// Degraded throughput: M of the last N download tests under the site's profile floor. It clears when at most
// `clearCount` of the last N are under it, so one good test in a bad run does not end the incident.
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
  })
  .strict()
  .refine((p) => p.raiseCount <= p.lastN, { message: 'raiseCount must be at most lastN', path: ['raiseCount'] })
  .refine((p) => p.clearCount < p.raiseCount, { message: 'clearCount must be below raiseCount (hysteresis)', path: ['clearCount'] });

export const degradedThroughput: RuleKind<typeof params> = {
  kind: 'degraded_throughput',
  title: { en: 'Degraded download speed', vi: 'Tốc độ tải xuống thấp' },
  params,
  async evaluate(p, ctx) {
    const q = `SELECT "mbps" FROM "throughput" WHERE "direction" = 'download' AND "code" = 'ok' AND time > ${ms(ctx.now - p.lookbackDays * 86_400_000)} AND time <= ${ms(ctx.now)} GROUP BY "site" ORDER BY time DESC LIMIT ${p.lastN}`;
    const out: Observation[] = [];
    for (const [siteCode, list] of bySite(await ctx.query(q))) {
      const floor = p.floorMbps ?? ctx.floorFor(siteCode);
      const values = list.map((r) => num(r.mbps)).filter((v): v is number => v !== undefined);
      const under = values.filter((v) => v < floor).length;
      out.push({
        siteCode,
        // Too few tests is no evidence either way: neither raise nor clear.
        raise: values.length >= p.raiseCount && under >= p.raiseCount,
        clear: values.length > 0 && under <= p.clearCount,
        value: under,
        summary: `${under} of the last ${values.length} download tests under ${floor} Mbit/s (latest ${values[0]?.toFixed(1) ?? '?'} Mbit/s)`,
      });
    }
    return out;
  },
};
