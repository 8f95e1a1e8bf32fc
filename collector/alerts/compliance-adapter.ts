// The compliance branch's school calendar and target profiles, seen through the two small interfaces the
// alert engine codes against (school-time.ts). Site facts (groups for calendar overrides, profile, link type,
// students) come from the registry and are cached for a minute: the calendar is asked many times a tick.
import { getDefaultCalendar, type SchoolCalendar } from '../compliance/calendar.ts';
import { getDefaultProfiles, type Profiles } from '../compliance/profiles.ts';
import type { Site } from '../registry/site.ts';
import type { FloorFor, SchoolTime } from './school-time.ts';

const CACHE_MS = 60_000;

function siteCache(getSite: (code: string) => Site | undefined) {
  const cache = new Map<string, { at: number; site: Site | undefined }>();
  return (code: string): Site | undefined => {
    const now = Date.now();
    const hit = cache.get(code);
    if (hit && now - hit.at < CACHE_MS) return hit.site;
    const site = getSite(code);
    cache.set(code, { at: now, site });
    return site;
  };
}

export function calendarSchoolTime(getSite: (code: string) => Site | undefined, calendar: SchoolCalendar = getDefaultCalendar()): SchoolTime {
  const site = siteCache(getSite);
  return {
    isSchoolTime: (code, at) => calendar.isSchoolTime(at, site(code) ?? { code }),
    schoolIntervals: (code, from, to) => calendar.schoolIntervals(from, to, site(code) ?? { code }),
  };
}

/** The floor of the profile's "download tests ≥ floor" criterion; `fallback` when the profile has none. */
export function profileFloor(getSite: (code: string) => Site | undefined, profiles: Profiles = getDefaultProfiles(), fallback = 5): FloorFor {
  const site = siteCache(getSite);
  return (code) => {
    const s = site(code);
    const criterion = profiles.resolve(s ?? { code }).criteria.find((c) => c.metric === 'download_mbps' && c.statistic === 'share_at_least' && c.floor !== undefined);
    return criterion?.floor ?? fallback;
  };
}
