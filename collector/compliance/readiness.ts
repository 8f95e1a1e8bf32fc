// Online-class readiness: from one test's sustained download/upload, idle and loaded latency, jitter and
// loss, how many simultaneous video classes the line carries and an experience grade for video calls and
// for streaming. The figures (per-class bandwidth, scoring bands) are data in the profiles file, each with
// its source; this module only applies them. Pure: the same test gives the same answer.
//
// Grades follow the shape of Cloudflare's AIM scoring (speed.cloudflare.com): every input metric earns
// points from a band table, an experience sums the points of its inputs (never below 0) and the sum's band
// gives the grade bad / poor / average / good / great. See docs/compliance.md "Online-class readiness".
import type { Experience, ReadinessConfig, ReadinessInput } from '../school/readiness-schema.ts';

export { EXPERIENCES, type Experience, READINESS_INPUTS, ReadinessConfig, type ReadinessInput } from '../school/readiness-schema.ts';

export const GRADES = ['bad', 'poor', 'average', 'good', 'great'] as const;
export type Grade = (typeof GRADES)[number];

/** One test's figures; any may be missing (a failed direction, no latency run near the test). */
export interface TestFigures {
  downMbps?: number;
  upMbps?: number;
  /** Idle RTT to the in-province server (the test's own idle_rtt_ms, else the TCP-connect median). */
  idleRttMs?: number;
  /** The larger of the download and upload loaded-RTT medians. */
  loadedRttMs?: number;
  jitterMs?: number;
  lossPct?: number;
}

export interface ExperienceScore {
  points: number;
  /** 0 = bad … 4 = great. */
  grade: number;
  name: Grade;
}

export interface Readiness {
  /** Simultaneous video classes; absent when a direction is missing. */
  videoClasses?: number;
  /** Which direction or limit set the class count. */
  limitedBy?: 'download' | 'upload' | 'loaded_rtt' | 'loss';
  /** Absent when one of the experience's inputs is missing (except loss, which counts 0 points when unknown). */
  videoCall?: ExperienceScore;
  streaming?: ExperienceScore;
}

function band(b: { thresholds: number[]; points: number[] }, value: number): number {
  let i = 0;
  while (i < b.thresholds.length && value >= b.thresholds[i]!) i++;
  return b.points[i]!;
}

function inputValue(input: ReadinessInput, t: TestFigures): number | undefined {
  switch (input) {
    case 'latency_ms': return t.idleRttMs;
    case 'loaded_latency_increase_ms': return t.idleRttMs !== undefined && t.loadedRttMs !== undefined ? Math.max(0, t.loadedRttMs - t.idleRttMs) : undefined;
    case 'jitter_ms': return t.jitterMs;
    case 'loss_pct': return t.lossPct;
    case 'download_mbps': return t.downMbps;
    case 'upload_mbps': return t.upMbps;
  }
}

function score(config: ReadinessConfig, experience: Experience, t: TestFigures): ExperienceScore | undefined {
  const def = config.scoring.experiences[experience];
  let points = 0;
  for (const input of def.inputs) {
    const value = inputValue(input, t);
    // As AIM does: an unknown loss earns 0 points; any other missing input leaves the experience ungraded.
    if (value === undefined) {
      if (input === 'loss_pct') continue;
      return undefined;
    }
    points += band(config.scoring.bands[input], value);
  }
  points = Math.max(0, points);
  const grade = band({ thresholds: def.gradeThresholds, points: [0, 1, 2, 3, 4] }, points);
  return { points, grade, name: GRADES[grade]! };
}

function classes(config: ReadinessConfig, t: TestFigures): Pick<Readiness, 'videoClasses' | 'limitedBy'> {
  if (t.downMbps === undefined || t.upMbps === undefined) return {};
  const c = config.videoClass;
  if (t.loadedRttMs !== undefined && t.loadedRttMs > c.maxLoadedRttMs) return { videoClasses: 0, limitedBy: 'loaded_rtt' };
  if (t.lossPct !== undefined && t.lossPct > c.maxLossPct) return { videoClasses: 0, limitedBy: 'loss' };
  const usable = c.usablePct / 100;
  // A small epsilon so that exactly 2 × the need counts as 2, whatever the float rounding.
  const down = Math.floor((t.downMbps * usable) / c.downMbps + 1e-9);
  const up = Math.floor((t.upMbps * usable) / c.upMbps + 1e-9);
  return down <= up ? { videoClasses: down, limitedBy: 'download' } : { videoClasses: up, limitedBy: 'upload' };
}

export function readinessOf(config: ReadinessConfig, t: TestFigures): Readiness {
  const videoCall = score(config, 'video_call', t);
  const streaming = score(config, 'streaming', t);
  return { ...classes(config, t), ...(videoCall ? { videoCall } : {}), ...(streaming ? { streaming } : {}) };
}

/** One sentence for reports: "3 simultaneous video classes (upload-limited); video calls good, streaming great". */
export function readinessSentence(r: Readiness): string {
  const parts: string[] = [];
  if (r.videoClasses !== undefined) {
    const why = r.limitedBy === 'loaded_rtt' ? 'latency under load too high' : r.limitedBy === 'loss' ? 'too much loss' : `${r.limitedBy}-limited`;
    parts.push(`${r.videoClasses} simultaneous video class${r.videoClasses === 1 ? '' : 'es'} (${why})`);
  }
  const grades = [r.videoCall && `video calls ${r.videoCall.name}`, r.streaming && `streaming ${r.streaming.name}`].filter(Boolean);
  if (grades.length) parts.push(grades.join(', '));
  return parts.join('; ');
}
