// The school calendar: which instants are school time for a site. Verdicts, uptime and alerts only
// count evidence from school time, so this is the one place that decides it.
//
//   const cal = loadCalendar();                    // default file, or SONGCHECK_CALENDAR_FILE
//   cal.isSchoolTime(Date.now(), site)              // one instant
//   cal.schoolIntervals(from, to, site)             // merged [start, end) epoch-ms intervals in a period
import { fileURLToPath } from 'node:url';
import { CalendarFile, type ClosureDef, WEEKDAYS } from './calendar-schema.ts';
import { addDays, localParts, localTime, weekdayOf } from './zone.ts';
import { parseYamlWith, readTextFile } from './yaml-file.ts';

export { CalendarFile } from './calendar-schema.ts';

export const DEFAULT_CALENDAR_FILE = fileURLToPath(new URL('./calendar.default.yaml', import.meta.url));

/** What the calendar needs to know of a site (a registry Site fits). */
export interface CalendarSite {
  code: string;
  groups?: readonly string[];
}

export interface Interval {
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
}

export type DayKind = 'school' | 'weekend' | 'holiday' | 'break' | 'out_of_year';

export interface SchoolDay {
  date: string;
  kind: DayKind;
  /** The holiday or break's name, when closed. */
  name?: string;
  /** Minutes since local midnight. Empty unless kind is 'school'. */
  hours: { start: number; end: number }[];
}

export class CalendarError extends Error {}

/** Longest period one call may expand, so a bad request cannot make a huge loop. */
export const MAX_CALENDAR_DAYS = 3700;

export class SchoolCalendar {
  readonly timeZone: string;

  constructor(readonly file: CalendarFile) {
    this.timeZone = file.timeZone;
  }

  /** The day as a site lives it: school hours, or why there are none. */
  day(date: string, site?: CalendarSite): SchoolDay {
    const overrides = this.overridesFor(site);
    const closure = findClosure(date, [...this.file.closures, ...overrides.flatMap((o) => o.closures)]);
    if (closure) return { date, kind: closure.kind, name: closure.name, hours: [] };
    const inYear = this.file.schoolYears.some((y) => date >= y.start && date <= y.end);
    if (!inYear) return { date, kind: 'out_of_year', hours: [] };
    const weekday = WEEKDAYS[weekdayOf(date)]!;
    let hours = this.file.hours[weekday] ?? [];
    for (const o of overrides) hours = o.hours?.[weekday] ?? hours;
    const makeUp = this.file.schoolDays.includes(date) || overrides.some((o) => o.schoolDays.includes(date));
    if (hours.length === 0 && makeUp) hours = this.file.makeUpHours;
    if (hours.length === 0) return { date, kind: 'weekend', hours: [] };
    return { date, kind: 'school', hours: [...hours].sort((a, b) => a.start - b.start) };
  }

  isSchoolTime(at: number, site?: CalendarSite): boolean {
    const p = localParts(at, this.timeZone);
    return this.day(p.date, site).hours.some((h) => p.minuteOfDay >= h.start && p.minuteOfDay < h.end);
  }

  /** School time within [from, to): merged, ordered intervals clipped to the period. */
  schoolIntervals(from: number, to: number, site?: CalendarSite): Interval[] {
    if (!(to > from)) return [];
    const first = localParts(from, this.timeZone).date;
    const last = localParts(to - 1, this.timeZone).date;
    const out: Interval[] = [];
    let date = first;
    for (let i = 0; date <= last; i++, date = addDays(date, 1)) {
      if (i >= MAX_CALENDAR_DAYS) throw new CalendarError(`period too long: more than ${MAX_CALENDAR_DAYS} days`);
      for (const h of this.day(date, site).hours) {
        const start = Math.max(from, localTime(date, h.start, this.timeZone));
        const end = Math.min(to, localTime(date, h.end, this.timeZone));
        if (end <= start) continue;
        const prev = out[out.length - 1];
        if (prev && start <= prev.end) prev.end = Math.max(prev.end, end);
        else out.push({ start, end });
      }
    }
    return out;
  }

  /** Milliseconds of school time in [from, to). */
  schoolMs(from: number, to: number, site?: CalendarSite): number {
    return this.schoolIntervals(from, to, site).reduce((sum, i) => sum + (i.end - i.start), 0);
  }

  /**
   * A key that is equal for two sites exactly when their calendars are equal, so callers can group sites
   * and run one query per distinct calendar instead of one per site.
   */
  variantKey(site?: CalendarSite): string {
    const idx = this.overridesIndexes(site);
    return idx.length === 0 ? 'default' : idx.join('+');
  }

  private overridesIndexes(site?: CalendarSite): number[] {
    if (!site) return [];
    const out: number[] = [];
    this.file.overrides.forEach((o, i) => {
      if (o.sites.includes(site.code) || o.groups.some((g) => site.groups?.includes(g))) out.push(i);
    });
    return out;
  }

  private overridesFor(site?: CalendarSite) {
    return this.overridesIndexes(site).map((i) => this.file.overrides[i]!);
  }
}

function findClosure(date: string, closures: readonly ClosureDef[]): ClosureDef | undefined {
  return closures.find((c) => date >= c.from && date <= (c.to ?? c.from));
}

/** Parses and validates calendar YAML; errors name the file and the path of each problem. */
export function parseCalendar(text: string, source = 'calendar'): SchoolCalendar {
  return new SchoolCalendar(parseYamlWith(text, CalendarFile, source, 'school calendar', (message) => new CalendarError(message)));
}

export function loadCalendar(path: string = DEFAULT_CALENDAR_FILE): SchoolCalendar {
  return parseCalendar(readTextFile(path, 'school calendar', (message) => new CalendarError(message)), path);
}

let defaultCalendar: SchoolCalendar | undefined;

/** The shipped Vietnamese school calendar (read once). */
export function getDefaultCalendar(): SchoolCalendar {
  defaultCalendar ??= loadCalendar(DEFAULT_CALENDAR_FILE);
  return defaultCalendar;
}

/** Convenience for callers with one calendar: the default one. */
export function isSchoolTime(at: number, site?: CalendarSite, calendar: SchoolCalendar = getDefaultCalendar()): boolean {
  return calendar.isSchoolTime(at, site);
}

export function schoolIntervals(from: number, to: number, site?: CalendarSite, calendar: SchoolCalendar = getDefaultCalendar()): Interval[] {
  return calendar.schoolIntervals(from, to, site);
}
