// The `readiness` section of the profiles file: per-class needs and the scoring bands, each with its source.
// Only the format lives here (profiles-schema.ts includes it); collector/compliance/readiness.ts applies it.
import { z } from 'zod';

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
