// The one place rule kinds are registered. A rule in the YAML names its kind; its params are validated
// by that kind's schema.
import type { RuleKind } from '../types.ts';
import { degradedThroughput } from './degraded-throughput.ts';
import { agentOutdated, budgetExhausted, clockOffset, queueBacklog } from './fleet.ts';
import { latencyLoss } from './latency-loss.ts';
import { linkDown } from './link-down.ts';
import { siteSilent } from './site-silent.ts';

export const RULE_KINDS: Record<string, RuleKind> = Object.fromEntries(
  [siteSilent, linkDown, degradedThroughput, latencyLoss, queueBacklog, clockOffset, budgetExhausted, agentOutdated].map((k) => [k.kind, k as unknown as RuleKind]),
);
