// What the compliance engine answers: a period's verdicts per site (engine.ts computes them; points.ts,
// csv.ts, report.ts and the routes present them). Types only, so presenters need not import the engine.
import type { CriterionVerdict, Verdict } from './judge.ts';
import type { Period } from './periods.ts';
import type { ReadinessTest } from './readiness-evidence.ts';

export interface SiteVerdict {
  site: string;
  name: string;
  commune?: string;
  operator?: string;
  linkType?: string;
  groups: string[];
  students?: number;
  profile: string;
  verdict: Verdict;
  criteria: CriterionVerdict[];
  uptimePct?: number;
  outageMinutes: number;
  observedPct?: number;
  schoolHours: number;
  /** One sentence per failed or insufficient criterion, then one per kind of test left out. */
  reasons: string[];
  warnings: string[];
  /** Per-test online-class readiness (tests of the period, unflagged); absent without a readiness section. */
  readiness?: ReadinessSummary;
}

/** What the period's tests say about online classes, for the API, the report and `readiness` points. */
export interface ReadinessSummary {
  tests: number;
  /** Median simultaneous video classes over tests with both directions. */
  videoClassesMedian?: number;
  /** Median video-call and streaming grades (0 bad … 4 great) over the tests that have one. */
  videoCallGradeMedian?: number;
  streamingGradeMedian?: number;
  /** Tests per grade (bad, poor, average, good, great). */
  videoCallGrades: number[];
  streamingGrades: number[];
  perTest: ReadinessTest[];
}

export interface ComplianceRun {
  period: { label: string; kind: Period['kind']; firstDate: string; lastDate: string; start: number; end: number; judgedUntil: number; complete: boolean; timeZone: string };
  generatedAt: number;
  counts: Record<Verdict, number>;
  sites: SiteVerdict[];
  /** Time spent in InfluxDB queries, ms. */
  queryMs: number;
}
