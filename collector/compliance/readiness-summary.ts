// A site's online-class readiness over a period, from its tests' readiness (readiness-evidence.ts): what the
// API and the report show, and the medians stored on the `overall` compliance point so that the province
// dashboard reads one point per site instead of a median over every test (docs/grafana.md).
import { summarise } from './queries.ts';
import type { ReadinessTest } from './readiness-evidence.ts';
import type { ReadinessSummary } from './verdicts.ts';

export function readinessSummary(tests: ReadinessTest[] | undefined): ReadinessSummary | undefined {
  if (!tests?.length) return undefined;
  const values = (pick: (t: ReadinessTest) => number | undefined) => tests.map(pick).filter((x): x is number => x !== undefined);
  const gradeCounts = (grades: number[]) => {
    const out = [0, 0, 0, 0, 0];
    for (const g of grades) out[g]!++;
    return out;
  };
  const classes = values((t) => t.readiness.videoClasses);
  const call = values((t) => t.readiness.videoCall?.grade);
  const streaming = values((t) => t.readiness.streaming?.grade);
  const videoClassesMedian = summarise(classes)?.median;
  const videoCallGradeMedian = summarise(call)?.median;
  const streamingGradeMedian = summarise(streaming)?.median;
  return {
    tests: tests.length,
    ...(videoClassesMedian !== undefined ? { videoClassesMedian } : {}),
    ...(videoCallGradeMedian !== undefined ? { videoCallGradeMedian } : {}),
    ...(streamingGradeMedian !== undefined ? { streamingGradeMedian } : {}),
    videoCallGrades: gradeCounts(call),
    streamingGrades: gradeCounts(streaming),
    perTest: tests,
  };
}
