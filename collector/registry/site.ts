// What a site is, as the registry stores it. Validation lives here so the CLI and any future admin API
// accept exactly the same sites.
import { z } from 'zod';

export const SITE_CODE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SiteCode = z
  .string()
  .regex(SITE_CODE_RE, 'must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit');

export const LINK_TYPES = ['4g', '3g', '5g', 'fibre', 'adsl', 'other'] as const;
export type LinkType = (typeof LINK_TYPES)[number];

const text = z.string().trim().min(1, 'must not be blank').max(200, 'must be at most 200 characters');

export const SiteInput = z
  .object({
    code: SiteCode,
    name: text,
    commune: text.optional(),
    province: text.optional(),
    operator: text.optional(),
    linkType: z.enum(LINK_TYPES, { error: `must be one of ${LINK_TYPES.join(', ')}` }).optional(),
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    students: z.number().int().min(0).max(1_000_000).optional(),
    // Free labels (former district, cluster, ...): administrative units change, so grouping is data.
    groups: z.array(z.string().trim().min(1).max(100)).max(50).default([]),
  })
  .strict()
  .refine((s) => (s.latitude === undefined) === (s.longitude === undefined), {
    message: 'latitude and longitude go together: give both or neither',
    path: ['latitude'],
  });
export type SiteInput = z.input<typeof SiteInput>;

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
  createdAt: number;
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
  created_at: number;
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
    createdAt: row.created_at,
  };
  for (const key of Object.keys(site) as (keyof Site)[]) if (site[key] === undefined) delete site[key];
  return site;
}
