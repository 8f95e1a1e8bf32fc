// Degraded throughput: M of the site's last N download outcomes are CONFIRMED failures (a test under the
// profile floor whose confirmation, the agent's second test within the hour, read under it too, and was not
// left out for cross traffic, the school's own network or a limited test server). The definition, and the
// window of outcomes, are in confirmed-failure.ts: Grafana's rule (dashboards/src/alerts.ts) follows the same one.
// It clears when at most `clearCount` of the last N outcomes are confirmed failures (hysteresis).
import { z } from 'zod';
import type { Observation, RuleKind } from '../types.ts';
import { LEFT_OUT_FLAGS } from '../../throughput/left-out.ts';
import { confirmedFailures, DOWNLOAD_FIELDS } from './confirmed-failure.ts';
import { bySite, ms, num, type Row } from './query-rows.ts';

/** Agents older than confirmation tests (`requireConfirmation: false`): every test under the floor not left out counts. */
function unconfirmedFailures(rows: Row[], floor: number, lastN: number): { window: Row[]; failures: number } {
  const flagged = (r: Row) => r.left_out === true || LEFT_OUT_FLAGS.some((f) => r[f] === true);
  const window = rows.filter((r) => num(r.mbps) !== undefined && !(flagged(r) && num(r.mbps)! < floor)).slice(0, lastN);
  return { window, failures: window.filter((r) => num(r.mbps)! < floor).length };
}

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
    // Rows under the floor that are not outcomes (first tests, one per confirmation, and unconfirmed ones) ride
    // along: 10 × N rows hold the last N outcomes unless a site's tests under the floor mostly go unconfirmed.
    const fields = [...DOWNLOAD_FIELDS, ...LEFT_OUT_FLAGS].map((f) => `"${f}"`).join(', ');
    const q = `SELECT ${fields} FROM "throughput" WHERE "direction" = 'download' AND "code" = 'ok' AND time > ${ms(ctx.now - p.lookbackDays * 86_400_000)} AND time <= ${ms(ctx.now)} GROUP BY "site" ORDER BY time DESC LIMIT ${p.lastN * 10}`;
    const out: Observation[] = [];
    for (const [siteCode, list] of bySite(await ctx.query(q))) {
      const floor = p.floorMbps ?? ctx.floorFor(siteCode);
      const { window, failures } = p.requireConfirmation ? confirmedFailures(list, floor, p.lastN) : unconfirmedFailures(list, floor, p.lastN);
      out.push({
        siteCode,
        // Too few outcomes is no evidence either way: neither raise nor clear.
        raise: window.length >= p.raiseCount && failures >= p.raiseCount,
        clear: window.length > 0 && failures <= p.clearCount,
        value: failures,
        summary: `${failures} of the last ${window.length} download tests under ${floor} Mbit/s${p.requireConfirmation ? ', each confirmed by a second test within the hour' : ''} (latest ${num(window[0]?.mbps)?.toFixed(1) ?? '?'} Mbit/s)`,
      });
    }
    return out;
  },
};
