// What a site is, as the registry stores it. Validation lives here so the CLI, the CSV import and the
// admin API accept exactly the same sites.
import { z } from 'zod';

export const SITE_CODE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SiteCode = z
  .string()
  .regex(SITE_CODE_RE, 'must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit');

export const LINK_TYPES = ['4g', '3g', '5g', 'fibre', 'adsl', 'other'] as const;
export type LinkType = (typeof LINK_TYPES)[number];

const text = z.string().trim().min(1, 'must not be blank').max(200, 'must be at most 200 characters');

/** A target profile's name; the profiles themselves (thresholds) come with the verdicts. Empty = the default. */
export const PROFILE_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const profile = z.string().trim().regex(PROFILE_RE, 'must be 1-64 characters of [a-z0-9._-], starting with a letter or digit');
const notes = z.string().trim().min(1, 'must not be blank').max(2000, 'must be at most 2000 characters');
const groups = z
  .array(z.string().trim().min(1, 'must not be blank').max(100, 'must be at most 100 characters').refine((g) => !g.includes(';'), 'must not contain ";"'))
  .max(50);

// Each editable field; the site code is the key and never changes.
const fields = {
  name: text,
  commune: text,
  province: text,
  operator: text,
  linkType: z.enum(LINK_TYPES, { error: `must be one of ${LINK_TYPES.join(', ')}` }),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  students: z.number().int().min(0).max(1_000_000),
  // Free labels (former district, cluster, ...): administrative units change, so grouping is data.
  groups,
  profile,
  notes,
};

export const SiteInput = z
  .object({
    code: SiteCode,
    name: fields.name,
    commune: fields.commune.optional(),
    province: fields.province.optional(),
    operator: fields.operator.optional(),
    linkType: fields.linkType.optional(),
    latitude: fields.latitude.optional(),
    longitude: fields.longitude.optional(),
    students: fields.students.optional(),
    groups: fields.groups.default([]),
    profile: fields.profile.optional(),
    notes: fields.notes.optional(),
  })
  .strict()
  .refine((s) => (s.latitude === undefined) === (s.longitude === undefined), {
    message: 'latitude and longitude go together: give both or neither',
    path: ['latitude'],
  });
export type SiteInput = z.input<typeof SiteInput>;

/** An edit: a field left out stays as it is, `null` clears it (the name cannot be cleared). */
export const SitePatch = z
  .object({
    name: fields.name.optional(),
    commune: fields.commune.nullable().optional(),
    province: fields.province.nullable().optional(),
    operator: fields.operator.nullable().optional(),
    linkType: fields.linkType.nullable().optional(),
    latitude: fields.latitude.nullable().optional(),
    longitude: fields.longitude.nullable().optional(),
    students: fields.students.nullable().optional(),
    groups: fields.groups.optional(),
    profile: fields.profile.nullable().optional(),
    notes: fields.notes.nullable().optional(),
  })
  .strict();
export type SitePatch = z.input<typeof SitePatch>;

/** The fields a site has besides its code, in CSV column order. */
export const SITE_FIELDS = ['name', 'commune', 'province', 'operator', 'linkType', 'latitude', 'longitude', 'students', 'groups', 'profile', 'notes'] as const;
export type SiteField = (typeof SITE_FIELDS)[number];

export interface Site {
  code: string;
  name: string;
  commune?: string;
  province?: string;
  operator?: string;
  linkType?: LinkType;
  latitude?: number;
  longitude?: number;
  students?: number;
  groups: string[];
  profile?: string;
  notes?: string;
  createdAt: number;
  updatedAt: number;
}

export interface SiteRow {
  code: string;
  name: string;
  commune: string | null;
  province: string | null;
  operator: string | null;
  link_type: string | null;
  latitude: number | null;
  longitude: number | null;
  students: number | null;
  groups: string;
  profile: string | null;
  notes: string | null;
  created_at: number;
  updated_at: number | null;
}

export function siteFromRow(row: SiteRow): Site {
  // Absent values stay absent (not null), so JSON output and tag building treat them alike.
  const site: Site = {
    code: row.code,
    name: row.name,
    commune: row.commune ?? undefined,
    province: row.province ?? undefined,
    operator: row.operator ?? undefined,
    linkType: (row.link_type as LinkType | null) ?? undefined,
    latitude: row.latitude ?? undefined,
    longitude: row.longitude ?? undefined,
    students: row.students ?? undefined,
    groups: JSON.parse(row.groups) as string[],
    profile: row.profile ?? undefined,
    notes: row.notes ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at ?? row.created_at,
  };
  for (const key of Object.keys(site) as (keyof Site)[]) if (site[key] === undefined) delete site[key];
  return site;
}
