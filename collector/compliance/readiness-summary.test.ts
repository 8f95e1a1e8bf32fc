// The period's readiness medians: computed from the tests (readinessSummary) and stored on the site's
// `overall` compliance point, which the province dashboard's readiness table reads (one point per site).
import { describe, expect, it } from 'vitest';
import { getDefaultProfiles } from '../school/profiles.ts';
import { complianceToPoints } from './points.ts';
import { readinessOf, type TestFigures } from './readiness.ts';
import type { ReadinessTest } from './readiness-evidence.ts';
import { readinessSummary } from './readiness-summary.ts';
import type { ComplianceRun } from './verdicts.ts';

const config = getDefaultProfiles().readiness!;
const test = (at: number, figures: TestFigures): ReadinessTest => ({ at, device: 'dev_a', figures, readiness: readinessOf(config, figures) });
// Worked out in readiness.test.ts: 2 classes, call good (3), streaming average (2).
const good = { downMbps: 20, upMbps: 5, idleRttMs: 40, loadedRttMs: 60, jitterMs: 8, lossPct: 0 };
// A bloated buffer: 0 classes, call bad (0).
const bloated = { downMbps: 50, upMbps: 20, idleRttMs: 50, loadedRttMs: 500, jitterMs: 40, lossPct: 0 };

describe('readinessSummary', () => {
  it('is absent without tests', () => {
    expect(readinessSummary(undefined)).toBeUndefined();
    expect(readinessSummary([])).toBeUndefined();
  });

  it('takes the median of each figure over the tests that have it, and counts tests per grade', () => {
    const tests = [test(1, good), test(2, good), test(3, bloated)];
    const s = readinessSummary(tests)!;
    expect(s.tests).toBe(3);
    expect(s.videoClassesMedian).toBe(2);
    expect(s.videoCallGradeMedian).toBe(3);
    expect(s.videoCallGrades).toEqual([1, 0, 0, 2, 0]);
    expect(s.videoCallGrades.reduce((a, b) => a + b, 0)).toBe(3);
    // An even count takes the mean of the middle two, as every median of the compliance engine does.
    expect(readinessSummary([test(1, good), test(2, bloated)])!.videoClassesMedian).toBe(1);
  });

  it('leaves out a median no test has: an upload-only test carries no class count', () => {
    const s = readinessSummary([test(1, { upMbps: 5, idleRttMs: 40 })])!;
    expect(s.tests).toBe(1);
    expect(s.videoClassesMedian).toBeUndefined();
  });
});

describe('the overall compliance point', () => {
  const run = (readiness?: ReturnType<typeof readinessSummary>): ComplianceRun => ({
    period: { label: 'rolling30', kind: 'rolling30', firstDate: '', lastDate: '', start: 0, end: 0, judgedUntil: 0, complete: true, timeZone: 'Asia/Ho_Chi_Minh' },
    generatedAt: 0,
    counts: { PASS: 1, FAIL: 0, INSUFFICIENT: 0 },
    queryMs: 0,
    sites: [{ site: 'LC-1', name: 'LC-1', groups: [], profile: 'default', verdict: 'PASS', criteria: [], outageMinutes: 0, schoolHours: 0, reasons: [], warnings: [], ...(readiness ? { readiness } : {}) }],
  });
  const overallLine = (r: ComplianceRun) => complianceToPoints(r, 1_700_000_000_000).at(-1)!.toLineProtocol()!;

  it('carries the readiness medians and the number of tests', () => {
    const line = overallLine(run(readinessSummary([test(1, good), test(2, good), test(3, bloated)])));
    expect(line).toContain('readiness_tests=3');
    expect(line).toContain('video_classes_median=2');
    expect(line).toContain('video_call_grade_median=3');
    expect(line).toContain('streaming_grade_median=');
  });

  it('has no readiness fields for a site without tests, so the dashboard lists no row for it', () => {
    expect(overallLine(run())).not.toMatch(/readiness_tests|_median=/);
  });
});
