// The target profiles file's schema: which criteria a site must meet, with what statistic and threshold.
import { z } from 'zod';
import { ReadinessConfig } from './readiness-schema.ts';

/** What a criterion measures; where each comes from is in metrics.ts and docs/compliance.md. */
export const METRICS = ['download_mbps', 'upload_mbps', 'rtt_ms', 'jitter_ms', 'loss_pct', 'uptime_pct', 'video_classes', 'video_call_grade', 'streaming_grade'] as const;
export type Metric = (typeof METRICS)[number];

/**
 * median, mean, p95 (nearest rank): of the per-test values. share_at_least: % of tests with a value ≥ floor.
 * ratio: uptime only, Σ successful checks / Σ checks × 100 (docs/uptime.md).
 */
export const STATISTICS = ['median', 'mean', 'p95', 'share_at_least', 'ratio'] as const;
export type Statistic = (typeof STATISTICS)[number];

export const PERIOD_KINDS = ['day', 'week', 'month', 'rolling30'] as const;
export type PeriodKind = (typeof PERIOD_KINDS)[number];

/** Higher is better for these; lower is better for the rest. */
export const HIGHER_IS_BETTER: Record<Metric, boolean> = {
  download_mbps: true,
  upload_mbps: true,
  rtt_ms: false,
  jitter_ms: false,
  loss_pct: false,
  uptime_pct: true,
  // Online-class readiness (readiness.ts): per-test class count and grades 0 (bad) … 4 (great).
  video_classes: true,
  video_call_grade: true,
  streaming_grade: true,
};

/** Metrics computed from the file's `readiness` section. */
export const READINESS_METRICS: readonly Metric[] = ['video_classes', 'video_call_grade', 'streaming_grade'];

const count = z.number().int().min(0).max(10_000_000);
/** One number for every period, or one per period kind (a day holds far fewer tests than a month). */
export const MinSamples = z.union([
  count,
  z.object(Object.fromEntries(PERIOD_KINDS.map((k) => [k, count])) as Record<PeriodKind, typeof count>).strict(),
]);

const ID_RE = /^[a-z][a-z0-9_]{0,63}$/;

export const CriterionDef = z
  .object({
    id: z.string().regex(ID_RE, 'must be 1-64 characters of [a-z0-9_], starting with a letter'),
    metric: z.enum(METRICS),
    statistic: z.enum(STATISTICS),
    /** share_at_least only: the per-test floor (in the metric's unit); threshold is then a %. */
    floor: z.number().min(0).optional(),
    threshold: z.number().min(0),
    minSamples: MinSamples,
    /** Raise the threshold with the site's student count (the profile's studentScaling). */
    scaleWithStudents: z.boolean().default(false),
    /** Reported beside the verdict but never changes the overall one (readiness criteria). */
    informational: z.boolean().default(false),
    /** Short human name for reports, e.g. "median download". */
    label: z.string().trim().min(1).max(100).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.statistic === 'share_at_least' && c.floor === undefined) ctx.addIssue({ code: 'custom', path: ['floor'], message: 'share_at_least needs a floor' });
    if (c.statistic !== 'share_at_least' && c.floor !== undefined) ctx.addIssue({ code: 'custom', path: ['floor'], message: 'floor only goes with share_at_least' });
    if ((c.metric === 'uptime_pct') !== (c.statistic === 'ratio')) {
      ctx.addIssue({ code: 'custom', path: ['statistic'], message: 'uptime_pct is judged with the statistic ratio, and ratio only applies to uptime_pct' });
    }
    if (c.metric.endsWith('_grade') && (c.statistic === 'share_at_least' ? (c.floor ?? 0) > 4 : c.threshold > 4)) {
      ctx.addIssue({ code: 'custom', path: [c.statistic === 'share_at_least' ? 'floor' : 'threshold'], message: 'a grade is 0 (bad) to 4 (great)' });
    }
    if ((c.statistic === 'share_at_least' || c.metric.endsWith('_pct')) && c.threshold > 100) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'a percentage threshold must be at most 100' });
    }
  });
export type CriterionDef = z.infer<typeof CriterionDef>;

export const StudentScaling = z
  .object({
    /** Scaling applies to sites with more students than this. */
    aboveStudents: z.number().int().min(0),
    /** Required Mbit/s per student: 0.05 = 50 kbit/s. */
    mbpsPerStudent: z.number().positive(),
  })
  .strict();

export const ProfileDef = z
  .object({
    description: z.string().trim().min(1).max(500),
    studentScaling: StudentScaling.optional(),
    criteria: z.array(CriterionDef).min(1).max(50),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.criteria.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: 'custom', path: ['criteria', i, 'id'], message: `duplicate criterion id '${c.id}'` });
      if (c.id === 'overall') ctx.addIssue({ code: 'custom', path: ['criteria', i, 'id'], message: "'overall' is reserved for the overall verdict" });
      seen.add(c.id);
      if (c.scaleWithStudents && !p.studentScaling) {
        ctx.addIssue({ code: 'custom', path: ['criteria', i, 'scaleWithStudents'], message: 'the profile has no studentScaling' });
      }
    });
  });
export type ProfileDef = z.infer<typeof ProfileDef>;

const PROFILE_NAME = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 characters of [a-z0-9._-], starting with a letter or digit');

export const CriterionOverride = z
  .object({ threshold: z.number().min(0).optional(), minSamples: MinSamples.optional(), floor: z.number().min(0).optional(), disabled: z.boolean().optional() })
  .strict();

export const SiteOverride = z
  .object({
    /** Takes precedence over the registry's sites.profile. */
    profile: PROFILE_NAME.optional(),
    /** Takes precedence over the registry's student count. */
    students: z.number().int().min(0).max(1_000_000).optional(),
    criteria: z.record(z.string(), CriterionOverride).default({}),
    /** Why the site differs (shown in reports). */
    note: z.string().trim().max(500).optional(),
  })
  .strict();

export const ProfilesFile = z
  .object({
    defaultProfile: PROFILE_NAME,
    /** Profile by the site's link type when the site names none. */
    linkTypeProfiles: z.record(z.string(), PROFILE_NAME).default({}),
    profiles: z.record(PROFILE_NAME, ProfileDef),
    sites: z.record(z.string(), SiteOverride).default({}),
    /** Per-class needs and experience scoring, with sources (readiness.ts); needed by readiness criteria. */
    readiness: ReadinessConfig.optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    const known = (name: string) => name in f.profiles;
    for (const [name, p] of Object.entries(f.profiles)) {
      p.criteria.forEach((c, i) => {
        if (READINESS_METRICS.includes(c.metric) && !f.readiness) ctx.addIssue({ code: 'custom', path: ['profiles', name, 'criteria', i, 'metric'], message: `${c.metric} needs the file's readiness section` });
      });
    }
    if (!known(f.defaultProfile)) ctx.addIssue({ code: 'custom', path: ['defaultProfile'], message: `no profile named '${f.defaultProfile}'` });
    for (const [lt, name] of Object.entries(f.linkTypeProfiles)) {
      if (!known(name)) ctx.addIssue({ code: 'custom', path: ['linkTypeProfiles', lt], message: `no profile named '${name}'` });
    }
    for (const [code, o] of Object.entries(f.sites)) {
      if (o.profile && !known(o.profile)) ctx.addIssue({ code: 'custom', path: ['sites', code, 'profile'], message: `no profile named '${o.profile}'` });
    }
  });
export type ProfilesFile = z.infer<typeof ProfilesFile>;
