// Sites in the store: add, edit, read. What a site is (its fields and their checks) is in site.ts.
import type { SqlRunner } from '../store/store.ts';
import { formatIssuesLine } from '../validation.ts';
import { writeAudit } from './audit-log.ts';
import type { RegistryContext } from './context.ts';
import { RegistryError } from './errors.ts';
import { type Site, SiteInput, SitePatch, type SiteRow, siteFromRow } from './site.ts';

/** A site's fields as SQL parameters: absent values as NULL, the group labels as JSON. */
function siteParams(v: Record<string, unknown>): Record<string, unknown> {
  const p: Record<string, unknown> = { groups: JSON.stringify(v.groups ?? []) };
  for (const key of ['name', 'commune', 'province', 'operator', 'linkType', 'latitude', 'longitude', 'students', 'profile', 'notes']) p[key] = v[key] ?? null;
  return p;
}

export async function siteIn(db: SqlRunner, code: string): Promise<Site | undefined> {
  const row = await db.get<SiteRow>('SELECT * FROM sites WHERE code = ?', code);
  return row ? siteFromRow(row) : undefined;
}

export async function listSites(db: SqlRunner): Promise<Site[]> {
  return (await db.all<SiteRow>('SELECT * FROM sites ORDER BY code')).map(siteFromRow);
}

export async function addSite(ctx: RegistryContext, input: SiteInput, actor: string): Promise<Site> {
  const parsed = SiteInput.safeParse(input);
  if (!parsed.success) throw new RegistryError('invalid_site', formatIssuesLine(parsed.error));
  const s = parsed.data;
  const now = ctx.now();
  return ctx.db.transaction(async (tx) => {
    if (await siteIn(tx, s.code)) throw new RegistryError('site_exists', `site ${s.code} already exists`);
    await tx.run(
      `INSERT INTO sites (code, name, commune, province, operator, link_type, latitude, longitude, students, "groups", profile, notes, created_at, updated_at)
       VALUES (@code, @name, @commune, @province, @operator, @linkType, @latitude, @longitude, @students, @groups, @profile, @notes, @now, @now)`,
      { ...siteParams({ ...s }), code: s.code, now },
    );
    await writeAudit(tx, ctx.now(), actor, 'site.add', s.code);
    return (await siteIn(tx, s.code))!;
  });
}

/**
 * Edits a site: fields left out stay, `null` clears. Returns the site and the names of the fields that
 * really changed (none: nothing is written). Future results carry the new tags; stored points keep theirs.
 */
export async function updateSite(ctx: RegistryContext, code: string, patch: SitePatch, actor: string): Promise<{ site: Site; changed: string[] }> {
  const parsed = SitePatch.safeParse(patch);
  if (!parsed.success) throw new RegistryError('invalid_site', formatIssuesLine(parsed.error));
  return ctx.db.transaction(async (tx) => {
    const current = await siteIn(tx, code);
    if (!current) throw new RegistryError('site_not_found', `no site with code ${code}`);
    const next: Record<string, unknown> = { ...current };
    for (const [key, value] of Object.entries(parsed.data)) {
      if (value === undefined) continue;
      if (value === null) delete next[key];
      else next[key] = value;
    }
    if ((next.latitude === undefined) !== (next.longitude === undefined)) {
      throw new RegistryError('invalid_site', 'latitude: latitude and longitude go together: give both or neither');
    }
    const changed = Object.keys(parsed.data).filter(
      (key) => parsed.data[key as keyof typeof parsed.data] !== undefined && JSON.stringify(next[key]) !== JSON.stringify((current as unknown as Record<string, unknown>)[key]),
    );
    if (changed.length === 0) return { site: current, changed };
    await tx.run(
      `UPDATE sites SET name = @name, commune = @commune, province = @province, operator = @operator, link_type = @linkType,
         latitude = @latitude, longitude = @longitude, students = @students, "groups" = @groups, profile = @profile, notes = @notes,
         updated_at = @now
       WHERE code = @code`,
      { ...siteParams(next), code, now: ctx.now() },
    );
    await writeAudit(tx, ctx.now(), actor, 'site.edit', code, { changed });
    return { site: (await siteIn(tx, code))!, changed };
  });
}
