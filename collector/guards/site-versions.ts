// Idempotent resends across site edits (issue 14, case 10). A point's commune, operator and link-type tags
// come from the registry, which an operator may edit; reading them at arrival put a result resent after an
// edit into a second series. Instead each site's tag sets are versioned with the time they take effect, and
// a result gets the version in effect at the time it is stored under, so the same result always lands on
// the same series, however late it is resent.
//
// A new version takes effect MAX_FUTURE_MS after the edit (`sites.updated_at`): every result stored before
// the edit is stamped at most MAX_FUTURE_MS after its arrival (later ones are corrected, clock.ts), so it
// stays on the old version, and results measured from then on carry the new tags. See docs/data-model.md.
import type { DeviceIdentity } from '../influx/points.ts';
import type { Site } from '../registry/site.ts';
import type { Store } from '../store/store.ts';

interface Version {
  from: number;
  identity: DeviceIdentity['site'];
}

type SiteTags = Pick<Site, 'code' | 'commune' | 'operator' | 'linkType'>;
const tagsKey = (s: SiteTags) => JSON.stringify([s.commune ?? null, s.operator ?? null, s.linkType ?? null]);

export class SiteTagVersions {
  private readonly cache = new Map<string, Version[]>();

  constructor(
    private readonly store: Store,
    /** How far ahead of arrival a stored time may be (ingest's MAX_FUTURE_MS). */
    private readonly graceMs: number,
  ) {}

  /** The versions of a site, oldest first; records the site's current tags as a new version when they changed. */
  versionsOf(site: SiteTags & { updatedAt: number }): Version[] {
    const key = tagsKey(site);
    let versions = this.cache.get(site.code);
    if (versions && tagsKey(versions[versions.length - 1]!.identity as SiteTags) === key) return versions;
    versions = this.load(site.code);
    const last = versions[versions.length - 1];
    if (!last || tagsKey(last.identity as SiteTags) !== key) {
      const from = last ? Math.max(site.updatedAt + this.graceMs, last.from + 1) : 0;
      this.store.sql('INSERT OR IGNORE INTO site_tag_versions (site_code, effective_from, tags) VALUES (?, ?, ?)').run(site.code, from, key);
      versions = this.load(site.code);
    }
    this.cache.set(site.code, versions);
    return versions;
  }

  private load(code: string): Version[] {
    const rows = this.store.sql('SELECT effective_from, tags FROM site_tag_versions WHERE site_code = ? ORDER BY effective_from').all(code) as { effective_from: number; tags: string }[];
    return rows.map((r) => {
      const [commune, operator, linkType] = JSON.parse(r.tags) as (string | null)[];
      return { from: r.effective_from, identity: { code, commune: commune ?? undefined, operator: operator ?? undefined, linkType: linkType ?? undefined } };
    });
  }
}

/** The site tags in effect at `time`: the last version that started at or before it. */
export function versionAt(versions: Version[], time: number): DeviceIdentity['site'] {
  for (let i = versions.length - 1; i > 0; i--) if (versions[i]!.from <= time) return versions[i]!.identity;
  return versions[0]!.identity;
}
