// Compliance periods, in the calendar's time zone: a day (2026-11-24), an ISO week (2026-W48), a calendar
// month (2026-11) and the rolling 30 days (rolling30: the 30 whole local days before the day it is
// computed on). A period that has not ended yet is judged up to now and marked incomplete.
import { z } from 'zod';
import type { PeriodKind } from '../school/profiles-schema.ts';
import { addDays, formatDate, localParts, localTime, parseDate, weekdayOf } from '../school/zone.ts';

export interface Period {
  kind: PeriodKind;
  /** The `period` tag: 2026-11-24, 2026-W48, 2026-11 or rolling30. */
  label: string;
  /** Local dates, first and last (inclusive). */
  firstDate: string;
  lastDate: string;
  /** Epoch ms [start, end). */
  start: number;
  end: number;
  /** The `compliance` points' timestamp: the period start; for rolling30, midnight of the day it was computed. */
  pointTime: number;
  /** min(end, now): the evidence window actually judged. */
  judgedUntil: number;
  complete: boolean;
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const WEEK_RE = /^(\d{4})-W(\d{2})$/;
const MONTH_RE = /^(\d{4})-(\d{2})$/;

export const PERIOD_HELP = 'a day (2026-11-24), an ISO week (2026-W48), a month (2026-11) or rolling30';

export class PeriodError extends Error {}

/** Monday of ISO week 1 is the Monday of the week holding 4 January. */
function isoWeekMonday(year: number, week: number): string {
  const jan4 = formatDate(year, 1, 4);
  const monday1 = addDays(jan4, -((weekdayOf(jan4) + 6) % 7));
  return addDays(monday1, (week - 1) * 7);
}

export function isoWeekOf(date: string): string {
  const thursday = addDays(date, 3 - ((weekdayOf(date) + 6) % 7));
  const year = Number(thursday.slice(0, 4));
  const week = Math.floor((Number(Date.parse(`${thursday}T00:00:00Z`)) - Date.parse(`${isoWeekMonday(year, 1)}T00:00:00Z`)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

function build(kind: PeriodKind, label: string, firstDate: string, lastDate: string, timeZone: string, now: number, pointTime?: number): Period {
  const start = localTime(firstDate, 0, timeZone);
  const end = localTime(addDays(lastDate, 1), 0, timeZone);
  if (start > now) throw new PeriodError(`period ${label} has not started yet`);
  return { kind, label, firstDate, lastDate, start, end, pointTime: pointTime ?? start, judgedUntil: Math.min(end, now), complete: end <= now };
}

/** Parses a period name; `now` decides rolling30's days and whether a period is complete. */
export function parsePeriod(text: string, timeZone: string, now: number): Period {
  const s = text.trim();
  if (s === 'rolling30') {
    const today = localParts(now, timeZone).date;
    return build('rolling30', 'rolling30', addDays(today, -30), addDays(today, -1), timeZone, now, localTime(today, 0, timeZone));
  }
  if (DAY_RE.test(s)) {
    if (!parseDate(s)) throw new PeriodError(`${s} is not a date that exists`);
    return build('day', s, s, s, timeZone, now);
  }
  const w = WEEK_RE.exec(s);
  if (w) {
    const [year, week] = [Number(w[1]), Number(w[2])];
    const monday = isoWeekMonday(year, week);
    if (week < 1 || isoWeekOf(monday) !== s) throw new PeriodError(`${s}: ${year} has no ISO week ${week}`);
    return build('week', s, monday, addDays(monday, 6), timeZone, now);
  }
  const m = MONTH_RE.exec(s);
  if (m) {
    const [year, month] = [Number(m[1]), Number(m[2])];
    if (month < 1 || month > 12) throw new PeriodError(`${s}: month must be 01-12`);
    const first = formatDate(year, month, 1);
    const last = addDays(formatDate(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1), -1);
    return build('month', s, first, last, timeZone, now);
  }
  throw new PeriodError(`period '${s.slice(0, 40)}' not understood: give ${PERIOD_HELP}`);
}

/** The period parameter of the API and CLI, as a zod schema (parsing needs the zone and the clock). */
export function periodParam(timeZone: string, now: () => number) {
  return z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === '') {
        ctx.addIssue({ code: 'custom', message: `period is required: ${PERIOD_HELP}` });
        return z.NEVER;
      }
      try {
        return parsePeriod(s, timeZone, now());
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });
}

/** The periods a scheduled run recomputes: yesterday, its ISO week and month, and rolling30. */
export function scheduledPeriods(timeZone: string, now: number): Period[] {
  const yesterday = addDays(localParts(now, timeZone).date, -1);
  return [yesterday, isoWeekOf(yesterday), yesterday.slice(0, 7), 'rolling30'].map((p) => parsePeriod(p, timeZone, now));
}
