// Turns the evidence of one site and period into verdicts: per criterion PASS, FAIL or INSUFFICIENT with
// one sentence of reason, and the overall verdict. Pure: the same evidence gives the same answer.
//
// Overall: any FAIL → FAIL; else any INSUFFICIENT → INSUFFICIENT; else PASS. A FAIL stands even when
// other criteria lack evidence, because what was measured already fell short; PASS needs every criterion.
import type { Metric, Statistic } from '../school/profiles-schema.ts';
import type { ResolvedCriterion, ResolvedProfile } from '../school/profiles.ts';
import type { Aggregate, SiteEvidence } from './queries.ts';
import type { PeriodKind } from '../school/profiles-schema.ts';

export type Verdict = 'PASS' | 'FAIL' | 'INSUFFICIENT';
export const VERDICT_CODE: Record<Verdict, number> = { PASS: 1, FAIL: 0, INSUFFICIENT: -1 };

export interface CriterionVerdict {
  id: string;
  label: string;
  metric: Metric;
  statistic: Statistic;
  floor?: number;
  comparison: '>=' | '<=';
  threshold: number;
  samples: number;
  minSamples: number;
  value?: number;
  mean?: number;
  verdict: Verdict;
  /** One sentence; empty for PASS. */
  reason: string;
  /** Reported beside the verdict, never part of the overall one (present only when true). */
  informational?: true;
}

export interface Judgement {
  verdict: Verdict;
  criteria: CriterionVerdict[];
  uptimePct?: number;
  outageMinutes: number;
  observedPct?: number;
  /** Sentences about the evidence itself: tests left out (busy line, the school's LAN, the test server). */
  notes: string[];
}

const UNIT: Record<Metric, string> = {
  download_mbps: 'Mbit/s',
  upload_mbps: 'Mbit/s',
  rtt_ms: 'ms',
  jitter_ms: 'ms',
  loss_pct: '%',
  uptime_pct: '%',
  video_classes: 'classes',
  video_call_grade: '(0 bad … 4 great)',
  streaming_grade: '(0 bad … 4 great)',
};
const SAMPLE_WORD: Record<Metric, string> = {
  download_mbps: 'download tests',
  upload_mbps: 'upload tests',
  rtt_ms: 'latency runs',
  jitter_ms: 'latency runs with jitter',
  loss_pct: 'latency runs',
  uptime_pct: 'connectivity checks',
  video_classes: 'tests with both directions',
  video_call_grade: 'graded tests',
  streaming_grade: 'graded tests',
};

/** Statistics are compared after rounding to 6 decimals, so float noise never flips a verdict at the threshold. */
export const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export function fmt(x: number): string {
  return String(Math.round(x * 100) / 100);
}

function aggregateFor(metric: Metric, e: SiteEvidence | undefined): Aggregate | undefined {
  if (!e) return undefined;
  switch (metric) {
    case 'download_mbps': return e.download;
    case 'upload_mbps': return e.upload;
    case 'rtt_ms': return e.rtt;
    case 'jitter_ms': return e.jitter;
    case 'loss_pct': return e.loss;
    case 'uptime_pct': return undefined;
    case 'video_classes': return e.videoClasses;
    case 'video_call_grade': return e.videoCallGrade;
    case 'streaming_grade': return e.streamingGrade;
  }
}

function measure(c: ResolvedCriterion, e: SiteEvidence | undefined): { samples: number; value?: number; mean?: number } {
  if (c.metric === 'uptime_pct') {
    const u = e?.uptime;
    if (!u || u.checks === 0) return { samples: 0 };
    return { samples: u.checks, value: round6(((u.up + u.collectorDown) * 100) / u.checks) };
  }
  const a = aggregateFor(c.metric, e);
  if (!a || a.count === 0) return { samples: 0 };
  const mean = a.mean !== undefined ? round6(a.mean) : undefined;
  const out = (value: number | undefined) => ({ samples: a.count, ...(value !== undefined ? { value: round6(value) } : {}), ...(mean !== undefined ? { mean } : {}) });
  switch (c.statistic) {
    case 'median': return out(a.median);
    case 'mean': return out(a.mean);
    case 'p95': return out(a.p95);
    case 'share_at_least': return out(((a.atLeast[String(c.floor)] ?? 0) * 100) / a.count);
    case 'ratio': return out(undefined);
  }
}

function reasonFor(c: ResolvedCriterion, v: Omit<CriterionVerdict, 'reason'>, schoolHours: number): string {
  const unit = UNIT[c.metric];
  if (v.verdict === 'PASS') return '';
  if (v.verdict === 'INSUFFICIENT') {
    if (schoolHours === 0) return `${c.label}: the period has no school hours (weekend, holiday, break or outside the school year).`;
    return `${c.label}: only ${v.samples} ${SAMPLE_WORD[c.metric]} in school hours, at least ${v.minSamples} are needed for a verdict.`;
  }
  const value = v.value ?? 0;
  if (c.statistic === 'share_at_least') {
    return `${c.label}: ${fmt(value)} % of ${v.samples} ${SAMPLE_WORD[c.metric]} reached ${fmt(c.floor ?? 0)} ${unit}, below the required ${fmt(c.threshold)} %.`;
  }
  const side = c.higherIsBetter ? 'below the required' : 'above the limit of';
  const scaled = c.scaledForStudents ? ' (raised for the student count)' : '';
  return `${c.label} was ${fmt(value)} ${unit} over ${v.samples} ${SAMPLE_WORD[c.metric]}, ${side} ${fmt(c.threshold)} ${unit}${scaled}.`;
}

export function judge(profile: ResolvedProfile, evidence: SiteEvidence | undefined, kind: PeriodKind, school: { ms: number; outageMs: number }): Judgement {
  const schoolHours = school.ms / 3_600_000;
  const criteria = profile.criteria.map((c): CriterionVerdict => {
    const m = measure(c, evidence);
    const minSamples = c.minSamples[kind];
    let verdict: Verdict;
    // At least one sample is always needed, even when a profile sets minSamples to 0.
    if (m.samples < Math.max(1, minSamples) || m.value === undefined) verdict = 'INSUFFICIENT';
    else verdict = (c.higherIsBetter ? m.value >= c.threshold : m.value <= c.threshold) ? 'PASS' : 'FAIL';
    const v = {
      id: c.id,
      label: c.label,
      metric: c.metric,
      statistic: c.statistic,
      ...(c.floor !== undefined ? { floor: c.floor } : {}),
      comparison: c.higherIsBetter ? ('>=' as const) : ('<=' as const),
      threshold: c.threshold,
      samples: m.samples,
      minSamples,
      ...(m.value !== undefined ? { value: m.value } : {}),
      ...(m.mean !== undefined ? { mean: m.mean } : {}),
      verdict,
    };
    return { ...v, reason: reasonFor(c, v, schoolHours), ...(c.informational ? { informational: true as const } : {}) };
  });
  const counted = criteria.filter((c) => !c.informational);
  const verdict: Verdict = counted.some((c) => c.verdict === 'FAIL') ? 'FAIL' : counted.some((c) => c.verdict === 'INSUFFICIENT') ? 'INSUFFICIENT' : 'PASS';
  const u = evidence?.uptime;
  return {
    verdict,
    criteria,
    ...(u && u.checks > 0 ? { uptimePct: round6(((u.up + u.collectorDown) * 100) / u.checks) } : {}),
    outageMinutes: round6(school.outageMs / 60_000),
    ...(school.ms > 0 ? { observedPct: round6(Math.min(100, ((u?.observedS ?? 0) * 1000 * 100) / school.ms)) } : {}),
    notes: exclusionNotes(evidence),
  };
}

/** "3 throughput tests left out: …" — why some tests did not count against the operator. */
export function exclusionNotes(e: SiteEvidence | undefined): string[] {
  const x = e?.excluded;
  if (!x) return [];
  const notes: string[] = [];
  const n = (k: number) => `${k} throughput test${k === 1 ? '' : 's'}`;
  if (x.counts.lan_bottleneck > 0) {
    notes.push(`${n(x.counts.lan_bottleneck)} left out because the school's own network was the likely bottleneck${x.lanReason ? ` (${x.lanReason})` : ''}: the school's network, not the operator.`);
  }
  if (x.counts.cross_traffic > 0) notes.push(`${n(x.counts.cross_traffic)} left out because the line was in use by the school during the test (cross traffic).`);
  if (x.latencyRunsLan > 0) notes.push(`${x.latencyRunsLan} latency run${x.latencyRunsLan === 1 ? '' : 's'} left out because the school's router alone took most of the round trip: the school's network, not the operator.`);
  if (x.counts.server_limited > 0) notes.push(`${n(x.counts.server_limited)} left out because the test server could not serve them at full rate.`);
  return notes;
}
