// Latency or loss over threshold for T minutes: the median RTT (of the per-test medians) or the mean loss
// over the last T minutes is above the raise level; it clears only below the lower clear levels.
import { z } from 'zod';
import type { Observation, RuleKind } from '../types.ts';
import { bySite, lit, ms, num } from './query-rows.ts';

const params = z
  .object({
    forMinutes: z.number().int().min(1).max(24 * 60).default(15),
    rttRaiseMs: z.number().positive().default(150),
    rttClearMs: z.number().positive().default(100),
    lossRaisePct: z.number().min(0).max(100).default(5),
    lossClearPct: z.number().min(0).max(100).default(1),
    method: z.enum(['tcp_connect', 'icmp_echo']).default('tcp_connect'),
    /** Tests needed in the window before anything is concluded. */
    minSamples: z.number().int().min(1).max(1000).default(3),
  })
  .strict()
  .refine((p) => p.rttClearMs <= p.rttRaiseMs, { message: 'rttClearMs must not exceed rttRaiseMs', path: ['rttClearMs'] })
  .refine((p) => p.lossClearPct <= p.lossRaisePct, { message: 'lossClearPct must not exceed lossRaisePct', path: ['lossClearPct'] });

export const latencyLoss: RuleKind<typeof params> = {
  kind: 'latency_loss',
  title: { en: 'High latency or loss', vi: 'Độ trễ hoặc mất gói cao' },
  params,
  async evaluate(p, ctx) {
    const q = `SELECT median("rtt_median_ms") AS rtt, mean("loss_pct") AS loss, count("loss_pct") AS n FROM "latency" WHERE "method" = ${lit(p.method)} AND time > ${ms(ctx.now - p.forMinutes * 60_000)} AND time <= ${ms(ctx.now)} GROUP BY "site"`;
    const out: Observation[] = [];
    for (const [siteCode, [row]] of bySite(await ctx.query(q))) {
      const n = num(row?.n) ?? 0;
      if (n < p.minSamples) continue;
      // All attempts lost: no RTT at all, which is as bad as a high one.
      const rtt = num(row?.rtt);
      const loss = num(row?.loss) ?? 0;
      out.push({
        siteCode,
        raise: (rtt ?? Infinity) > p.rttRaiseMs || loss > p.lossRaisePct,
        clear: rtt !== undefined && rtt < p.rttClearMs && loss < p.lossClearPct,
        value: rtt,
        summary: `median RTT ${rtt?.toFixed(0) ?? '—'} ms, loss ${loss.toFixed(1)} % over ${p.forMinutes} min (${n} tests)`,
      });
    }
    return out;
  },
};
