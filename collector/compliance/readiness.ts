// Online-class readiness: from one test's sustained download/upload, idle and loaded latency, jitter and
// loss, how many simultaneous video classes the line carries and an experience grade for video calls and
// for streaming. The figures (per-class bandwidth, scoring bands) are data in the profiles file, each with
// its source; this module only applies them. Pure: the same test gives the same answer.
//
// Grades follow the shape of Cloudflare's AIM scoring (speed.cloudflare.com): every input metric earns
// points from a band table, an experience sums the points of its inputs (never below 0) and the sum's band
// gives the grade bad / poor / average / good / great. See docs/compliance.md "Online-class readiness".
import { z } from 'zod';

export const GRADES = ['bad', 'poor', 'average', 'good', 'great'] as const;
export type Grade = (typeof GRADES)[number];

/** The per-test figures a readiness computation can use. */
export const READINESS_INPUTS = ['latency_ms', 'loaded_latency_increase_ms', 'jitter_ms', 'loss_pct', 'download_mbps', 'upload_mbps'] as const;
export type ReadinessInput = (typeof READINESS_INPUTS)[number];

export const EXPERIENCES = ['video_call', 'streaming'] as const;
export type Experience = (typeof EXPERIENCES)[number];

const source = z.string().trim().min(1).max(500);

/** value < thresholds[0] → points[0]; thresholds[i-1] ≤ value < thresholds[i] → points[i]; ≥ last → last point. */
const Bands = z
  .object({ thresholds: z.array(z.number().min(0)).min(1).max(10), points: z.array(z.number().min(-100).max(100)).min(2).max(11) })
  .strict()
  .superRefine((b, ctx) => {
    if (b.points.length !== b.thresholds.length + 1) ctx.addIssue({ code: 'custom', path: ['points'], message: 'needs exactly one more entry than thresholds' });
    if (b.thresholds.some((t, i) => i > 0 && t <= b.thresholds[i - 1]!)) ctx.addIssue({ code: 'custom', path: ['thresholds'], message: 'must increase' });
  });

const ExperienceDef = z
  .object({
    inputs: z.array(z.enum(READINESS_INPUTS)).min(1).max(READINESS_INPUTS.length),
    /** Four increasing point sums: below the first is bad, at or above the last is great. */
    gradeThresholds: z.array(z.number()).length(4),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.gradeThresholds.some((t, i) => i > 0 && t <= e.gradeThresholds[i - 1]!)) ctx.addIssue({ code: 'custom', path: ['gradeThresholds'], message: 'must increase' });
  });

export const ReadinessConfig = z
  .object({
    videoClass: z
      .object({
        /** What one class (one classroom device in a group video meeting) needs, Mbit/s, each direction. */
        downMbps: z.number().positive().max(1000),
        upMbps: z.number().positive().max(1000),
        /** Share of the sustained rate a class may plan on; the rest is left for everything else on the line. */
        usablePct: z.number().min(10).max(100),
        /** Above these a video call breaks up however much bandwidth there is: the line carries 0 classes. */
        maxLoadedRttMs: z.number().positive().max(10_000),
        maxLossPct: z.number().min(0).max(100),
        source,
      })
      .strict(),
    scoring: z
      .object({
        source,
        bands: z.object(Object.fromEntries(READINESS_INPUTS.map((k) => [k, Bands])) as Record<ReadinessInput, typeof Bands>).strict(),
        experiences: z.object({ video_call: ExperienceDef, streaming: ExperienceDef }).strict(),
      })
      .strict(),
  })
  .strict();
export type ReadinessConfig = z.infer<typeof ReadinessConfig>;

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
