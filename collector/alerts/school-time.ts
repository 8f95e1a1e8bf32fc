// What the alert engine needs from the school calendar and the target profiles. The real ones come from
// collector/compliance/ through compliance-adapter.ts.

export interface SchoolTime {
  /** True when `at` (epoch ms) falls within the site's school hours (school day, hours, not a holiday). */
  isSchoolTime(siteCode: string, at: number): boolean;
  /** School intervals within [from, to), when the calendar can list them (cheaper than asking per minute). */
  schoolIntervals?(siteCode: string, from: number, to: number): { start: number; end: number }[];
}

/** The download floor (Mbit/s) of a site's target profile: what "degraded" is measured against. */
export type FloorFor = (siteCode: string) => number;

/** Asia/Ho_Chi_Minh has no daylight saving: local time is UTC+7 all year. */
const VN_OFFSET_MS = 7 * 3600_000;

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

/** Local calendar day (YYYY-MM-DD) and minutes since local midnight, in Asia/Ho_Chi_Minh. */
export function localDay(at: number): { day: string; minutes: number; midnight: number } {
  const local = at + VN_OFFSET_MS;
  const midnightLocal = Math.floor(local / 86_400_000) * 86_400_000;
  return { day: new Date(midnightLocal).toISOString().slice(0, 10), minutes: Math.floor((local - midnightLocal) / 60_000), midnight: midnightLocal - VN_OFFSET_MS };
}
