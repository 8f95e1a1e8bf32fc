// Fleet problems, from the agents' own reports: the last value of one field per site, with separate raise
// and clear levels. Four kinds share the shape: queue backlog, clock offset, data budget exhausted, agent
// version too old.
import { z } from 'zod';
import type { Observation, RuleContext, RuleKind } from '../types.ts';
import { bySite, ms } from './query-rows.ts';

interface LastValueSpec {
  kind: string;
  title: { en: string; vi: string };
  measurement: string;
  field: string;
  /** Turns the raw last value into the figure compared (booleans as 1/0, offsets as absolute values). */
  figure: (v: unknown) => number | undefined;
  unit: string;
  raiseAbove: number;
  clearBelow: number;
  /** Raise when the figure is below the level instead of above (budget left). */
  below?: boolean;
}

function lastValueRule(spec: LastValueSpec) {
  const params = z
    .object({
      raiseAbove: z.number().default(spec.raiseAbove),
      clearBelow: z.number().default(spec.clearBelow),
      lookbackHours: z.number().int().min(1).max(24 * 31).default(24),
    })
    .strict();
  const rule: RuleKind<typeof params> = {
    kind: spec.kind,
    title: spec.title,
    params,
    async evaluate(p, ctx: RuleContext) {
      const q = `SELECT last("${spec.field}") AS v FROM "${spec.measurement}" WHERE time > ${ms(ctx.now - p.lookbackHours * 3600_000)} AND time <= ${ms(ctx.now)} GROUP BY "site"`;
      const out: Observation[] = [];
      for (const [siteCode, [row]] of bySite(await ctx.query(q))) {
        const v = spec.figure(row?.v);
        if (v === undefined) continue;
        const bad = spec.below ? v <= p.raiseAbove : v > p.raiseAbove;
        const good = spec.below ? v > p.clearBelow : v < p.clearBelow;
        out.push({ siteCode, raise: bad, clear: good, value: v, summary: `${spec.field} = ${v}${spec.unit}` });
      }
      return out;
    },
  };
  return rule;
}

const finite = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export const queueBacklog = lastValueRule({
  kind: 'fleet_queue_backlog',
  title: { en: 'Agent cannot deliver its results', vi: 'Tác tử không gửi được kết quả' },
  measurement: 'agent_health', field: 'oldest_unsent_age_s', unit: ' s', figure: finite,
  raiseAbove: 6 * 3600, clearBelow: 3600,
});

export const clockOffset = lastValueRule({
  kind: 'fleet_clock_offset',
  title: { en: 'Device clock is wrong', vi: 'Đồng hồ thiết bị sai' },
  measurement: 'agent_health', field: 'clock_offset_ms', unit: ' ms', figure: (v) => (finite(v) === undefined ? undefined : Math.abs(v as number)),
  raiseAbove: 120_000, clearBelow: 10_000,
});

export const budgetExhausted = lastValueRule({
  kind: 'fleet_budget_exhausted',
  title: { en: 'Monthly test data budget used up', vi: 'Hết hạn mức dữ liệu đo trong tháng' },
  measurement: 'throughput', field: 'budget_left_bytes', unit: ' bytes', figure: finite, below: true,
  raiseAbove: 0, clearBelow: 50 * 1024 * 1024,
});

export const agentOutdated = lastValueRule({
  kind: 'fleet_agent_outdated',
  title: { en: 'Agent version too old', vi: 'Phiên bản tác tử quá cũ' },
  measurement: 'agent_health', field: 'behind_recommended', unit: '', figure: (v) => (typeof v === 'boolean' ? (v ? 1 : 0) : undefined),
  raiseAbove: 0.5, clearBelow: 0.5,
});
