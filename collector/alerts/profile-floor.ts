// What "degraded" is measured against: the download floor of a site's target profile (collector/school/).
import type { Site } from '../registry/site.ts';
import { getDefaultProfiles, type Profiles } from '../school/profiles.ts';
import { cachedSites } from '../school/school-time.ts';

/** The download floor (Mbit/s) of a site's target profile. */
export type FloorFor = (siteCode: string) => number;

/** The floor of the profile's "download tests ≥ floor" criterion; `fallback` when the profile has none. */
export function profileFloor(getSite: (code: string) => Site | undefined, profiles: Profiles = getDefaultProfiles(), fallback = 5): FloorFor {
  const site = cachedSites(getSite);
  return (code) => {
    const s = site(code);
    const criterion = profiles.resolve(s ?? { code }).criteria.find((c) => c.metric === 'download_mbps' && c.statistic === 'share_at_least' && c.floor !== undefined);
    return criterion?.floor ?? fallback;
  };
}
