// The school calendar file's schema: what a province edits (school hours, school years, holidays and
// term breaks, per-site or per-group differences). Every mistake is reported with its path.
import { z } from 'zod';
import { DEFAULT_TIME_ZONE, isValidTimeZone, parseDate } from './zone.ts';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type WeekdayName = (typeof WEEKDAYS)[number];

const HOURS_RE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;

export const LocalDate = z.string().refine((s) => parseDate(s) !== undefined, 'must be a date YYYY-MM-DD that exists');

/** "07:00-11:30": minutes since local midnight, end after start (24:00 allowed as an end). */
export const HoursRange = z
  .string()
  .regex(HOURS_RE, 'must be HH:MM-HH:MM, e.g. 07:00-11:30')
  .transform((s, ctx) => {
    const m = HOURS_RE.exec(s)!;
    const start = Number(m[1]) * 60 + Number(m[2]);
    const end = Number(m[3]) * 60 + Number(m[4]);
    if (end <= start || end > 24 * 60) {
      ctx.addIssue({ code: 'custom', message: `${s}: the end must be after the start, at most 24:00` });
      return z.NEVER;
    }
    return { start, end };
  });

const DayHours = z.array(HoursRange).max(8);
const WeekHours = z.object(Object.fromEntries(WEEKDAYS.map((d) => [d, DayHours.optional()])) as Record<WeekdayName, z.ZodOptional<typeof DayHours>>).strict();

export const Closure = z
  .object({
    from: LocalDate,
    /** Inclusive. Defaults to `from` (a one-day holiday). */
    to: LocalDate.optional(),
    name: z.string().trim().min(1).max(200),
    kind: z.enum(['holiday', 'break']).default('holiday'),
  })
  .strict()
  .refine((c) => c.to === undefined || c.to >= c.from, { message: 'to must not be before from', path: ['to'] });

const SchoolYear = z
  .object({ name: z.string().trim().min(1).max(100), start: LocalDate, end: LocalDate })
  .strict()
  .refine((y) => y.end >= y.start, { message: 'end must not be before start', path: ['end'] });

const Override = z
  .object({
    /** Site codes this applies to. */
    sites: z.array(z.string().min(1).max(64)).max(10_000).default([]),
    /** Registry group labels (former district, cluster, ...) this applies to. */
    groups: z.array(z.string().min(1).max(100)).max(100).default([]),
    /** Replaces the hours of the weekdays it names. */
    hours: WeekHours.optional(),
    /** Added to the calendar's closures. */
    closures: z.array(Closure).max(500).default([]),
    /** Extra school days (make-up days) for these sites. */
    schoolDays: z.array(LocalDate).max(500).default([]),
  })
  .strict()
  .refine((o) => o.sites.length + o.groups.length > 0, { message: 'an override needs sites or groups to apply to' });

export const CalendarFile = z
  .object({
    timeZone: z.string().refine(isValidTimeZone, 'not a time zone known to this Node (e.g. Asia/Ho_Chi_Minh)').default(DEFAULT_TIME_ZONE),
    /** Days outside every school year (summer) are not school days. */
    schoolYears: z.array(SchoolYear).min(1).max(50),
    hours: WeekHours,
    closures: z.array(Closure).max(2000).default([]),
    /** Dates that are school days although their weekday has no hours (make-up Saturdays): they use `makeUpHours`. */
    schoolDays: z.array(LocalDate).max(500).default([]),
    makeUpHours: DayHours.default([{ start: 7 * 60, end: 17 * 60 }]),
    overrides: z.array(Override).max(1000).default([]),
  })
  .strict();
export type CalendarFile = z.infer<typeof CalendarFile>;
export type CalendarOverride = CalendarFile['overrides'][number];
export type ClosureDef = z.infer<typeof Closure>;
