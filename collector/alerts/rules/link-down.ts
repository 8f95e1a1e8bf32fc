// Link down: the agent reported an outage (kind link_down or dns_down, sent once the link is back) with at
// least M minutes of school time within the last window. It clears only after no outage at all has ended
// within clearMinutes, so a link flapping every few minutes stays one incident.
import { z } from 'zod';
import { OUTAGE_KINDS } from '../../../protocol/results.ts';
import { schoolMinutesBetween } from '../../school/school-time.ts';
import type { Observation, RuleKind } from '../types.ts';
import { bySite, lit, ms, num } from './query-rows.ts';

const params = z
  .object({
    minOutageMinutes: z.number().min(0).max(24 * 60).default(10),
    /** Outages that ended within this window count. */
    windowMinutes: z.number().int().min(1).max(7 * 24 * 60).default(30),
    /** Clear when no outage of any length ended within this many minutes. */
    clearMinutes: z.number().int().min(1).max(24 * 60).default(45),
    kinds: z.array(z.enum(OUTAGE_KINDS)).min(1).default(['link_down', 'dns_down']),
  })
  .strict()
  // An outage old enough to clear must not raise again at the next evaluation.
  .refine((p) => p.windowMinutes <= p.clearMinutes, { message: 'windowMinutes must not exceed clearMinutes', path: ['windowMinutes'] });

/** Outages longer than this are looked for no further back (a longer one is cut at the window). */
const MAX_OUTAGE_MS = 2 * 86_400_000;

export const linkDown: RuleKind<typeof params> = {
  kind: 'link_down',
  title: { en: 'Link down', vi: 'Mất kết nối' },
  params,
  async evaluate(p, ctx) {
    const lookback = Math.max(p.windowMinutes, p.clearMinutes) * 60_000;
    const kinds = p.kinds.map((k) => `"kind" = ${lit(k)}`).join(' OR ');
    const q = `SELECT "end_at", "duration_s" FROM "outage" WHERE time > ${ms(ctx.now - lookback - MAX_OUTAGE_MS)} AND time <= ${ms(ctx.now)} AND (${kinds}) GROUP BY "site"`;
    const out: Observation[] = [];
    const seen = new Set<string>();
    for (const [siteCode, list] of bySite(await ctx.query(q))) {
      let worst = 0;
      let lastEnd = 0;
      for (const row of list) {
        const end = num(row.end_at) ?? row.time + (num(row.duration_s) ?? 0) * 1000;
        if (end < ctx.now - lookback) continue;
        lastEnd = Math.max(lastEnd, end);
        if (end >= ctx.now - p.windowMinutes * 60_000) worst = Math.max(worst, schoolMinutesBetween(ctx.school, siteCode, row.time, end));
      }
      seen.add(siteCode);
      const clear = lastEnd < ctx.now - p.clearMinutes * 60_000;
      out.push({
        siteCode,
        raise: !clear && worst >= p.minOutageMinutes && worst > 0,
        clear,
        value: worst,
        summary: `outage of ${worst} school minutes in the last ${p.windowMinutes} min`,
      });
    }
    // A site with no outage in the lookback is clear.
    for (const s of ctx.sites) if (!seen.has(s.code)) out.push({ siteCode: s.code, raise: false, clear: true, value: 0, summary: 'no outage reported' });
    return out;
  },
};
