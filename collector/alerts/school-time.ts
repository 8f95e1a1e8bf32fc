// What the alert engine needs from the school calendar and the target profiles. The compliance branch
// supplies the real ones (collector/compliance/calendar.ts, profiles.ts); until they are merged these
// defaults stand in, and swapping them is one line in service.ts.

export interface SchoolTime {
  /** True when `at` (epoch ms) falls within the site's school hours (school day, hours, not a holiday). */
  isSchoolTime(siteCode: string, at: number): boolean;
}

/** The download floor (Mbit/s) of a site's target profile: what "degraded" is measured against. */
export type FloorFor = (siteCode: string) => number;

/** Asia/Ho_Chi_Minh has no daylight saving: local time is UTC+7 all year. */
const VN_OFFSET_MS = 7 * 3600_000;

/** Monday to Friday, 07:00–17:00 local time: a stand-in until the compliance calendar is merged. */
export const weekdaySchoolTime: SchoolTime = {
  isSchoolTime(_siteCode, at) {
    const local = new Date(at + VN_OFFSET_MS);
    const day = local.getUTCDay();
    const minutes = local.getUTCHours() * 60 + local.getUTCMinutes();
    return day >= 1 && day <= 5 && minutes >= 7 * 60 && minutes < 17 * 60;
  },
};

/** The brief's default profile: ≥ 95 % of download tests at or above 5 Mbit/s. */
export const defaultFloor: FloorFor = () => 5;

/**
 * Minutes of school time in [from, to), counted minute by minute from `to` backwards and stopping at `cap`,
 * so a site silent for a month costs at most `cap` school minutes plus the nights and weekends between.
 * Bounded at 14 days of steps.
 */
export function schoolMinutesBetween(school: SchoolTime, siteCode: string, from: number, to: number, cap = Infinity): number {
  let count = 0;
  const start = Math.max(from, to - 14 * 86_400_000);
  for (let t = to - 60_000; t >= start && count < cap; t -= 60_000) if (school.isSchoolTime(siteCode, t)) count++;
  return count;
}

/** Local calendar day (YYYY-MM-DD) and minutes since local midnight, in Asia/Ho_Chi_Minh. */
export function localDay(at: number): { day: string; minutes: number; midnight: number } {
  const local = at + VN_OFFSET_MS;
  const midnightLocal = Math.floor(local / 86_400_000) * 86_400_000;
  return { day: new Date(midnightLocal).toISOString().slice(0, 10), minutes: Math.floor((local - midnightLocal) / 60_000), midnight: midnightLocal - VN_OFFSET_MS };
}
