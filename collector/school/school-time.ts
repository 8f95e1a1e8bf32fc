// "Is it school time at this site?" for code that asks by site code (the alert engine): the school calendar
// with each site's facts (groups, for the calendar's overrides) looked up in the registry and cached for a
// minute, since the engine asks many times a tick. Local days and hours are read in the calendar's zone.
import type { Site } from '../registry/site.ts';
import { getDefaultCalendar, type SchoolCalendar } from './calendar.ts';

export interface SchoolTime {
  /** The calendar's time zone (IANA name): local days and hours, such as a digest's send time, are read in it. */
  readonly timeZone: string;
  /** True when `at` (epoch ms) falls within the site's school hours (school day, hours, not a holiday). */
  isSchoolTime(siteCode: string, at: number): boolean;
  /** School intervals within [from, to), when the calendar can list them (cheaper than asking per minute). */
  schoolIntervals?(siteCode: string, from: number, to: number): { start: number; end: number }[];
}

const CACHE_MS = 60_000;

/** `getSite` with each answer kept for a minute. */
export function cachedSites(getSite: (code: string) => Site | undefined): (code: string) => Site | undefined {
  const cache = new Map<string, { at: number; site: Site | undefined }>();
  return (code) => {
    const now = Date.now();
    const hit = cache.get(code);
    if (hit && now - hit.at < CACHE_MS) return hit.site;
    const site = getSite(code);
    cache.set(code, { at: now, site });
    return site;
  };
}

export function calendarSchoolTime(getSite: (code: string) => Site | undefined, calendar: SchoolCalendar = getDefaultCalendar()): SchoolTime {
  const site = cachedSites(getSite);
  return {
    timeZone: calendar.timeZone,
    isSchoolTime: (code, at) => calendar.isSchoolTime(at, site(code) ?? { code }),
    schoolIntervals: (code, from, to) => calendar.schoolIntervals(from, to, site(code) ?? { code }),
  };
}

/**
 * Minutes of school time in [from, to), counted minute by minute from `to` backwards and stopping at `cap`,
 * so a site silent for a month costs at most `cap` school minutes plus the nights and weekends between.
 * Bounded at 14 days of steps.
 */
export function schoolMinutesBetween(school: SchoolTime, siteCode: string, from: number, to: number, cap = Infinity): number {
  const start = Math.max(from, to - 14 * 86_400_000);
  if (start >= to) return 0;
  if (school.schoolIntervals) {
    const ms = school.schoolIntervals(siteCode, start, to).reduce((sum, i) => sum + Math.max(0, Math.min(i.end, to) - Math.max(i.start, start)), 0);
    return Math.min(cap, Math.floor(ms / 60_000));
  }
  let count = 0;
  for (let t = to - 60_000; t >= start && count < cap; t -= 60_000) if (school.isSchoolTime(siteCode, t)) count++;
  return count;
}
