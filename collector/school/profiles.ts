// Target profiles: what "meets the broadband target" means for one site, after its per-site overrides
// and student-count scaling. The file format is in profiles-schema.ts; the shipped default, with the
// source of every threshold, in profiles.default.yaml.
//
//   const profiles = loadProfiles();                       // default file, or SONGCHECK_PROFILES_FILE
//   const p = profiles.resolve({ code, profile, linkType, students });
//   p.criteria[0].threshold, p.criteria[0].minSamples.month
import { fileURLToPath } from 'node:url';
import { HIGHER_IS_BETTER, type Metric, PERIOD_KINDS, type PeriodKind, ProfilesFile, type Statistic } from './profiles-schema.ts';
import type { ReadinessConfig } from './readiness-schema.ts';
import { parseYamlWith, readTextFile } from './yaml-file.ts';

export { METRICS, PERIOD_KINDS, ProfilesFile, STATISTICS } from './profiles-schema.ts';
export type { Metric, PeriodKind, Statistic } from './profiles-schema.ts';

export const DEFAULT_PROFILES_FILE = fileURLToPath(new URL('./profiles.default.yaml', import.meta.url));

/** What profile resolution needs of a site (a registry Site fits). */
export interface ProfileSite {
  code: string;
  profile?: string;
  linkType?: string;
  students?: number;
}

export interface ResolvedCriterion {
  id: string;
  label: string;
  metric: Metric;
  statistic: Statistic;
  floor?: number;
  /** After the site override and student scaling. */
  threshold: number;
  /** The profile's threshold before scaling and overrides. */
  baseThreshold: number;
  higherIsBetter: boolean;
  minSamples: Record<PeriodKind, number>;
  /** The threshold was raised for the student count. */
  scaledForStudents: boolean;
  /** Reported, never part of the overall verdict. */
  informational: boolean;
}

export interface ResolvedProfile {
  name: string;
  description: string;
  /** The student count used (override, else registry), if known. */
  students?: number;
  criteria: ResolvedCriterion[];
  /** Problems that did not stop resolution (an unknown profile name in the registry, ...). */
  warnings: string[];
}

export class ProfilesError extends Error {}

const STAT_WORDS: Record<Statistic, string> = { median: 'median', mean: 'mean', p95: '95th percentile', share_at_least: 'share of tests at or above', ratio: 'share of successful checks' };

function defaultLabel(metric: Metric, statistic: Statistic, floor?: number): string {
  const what = metric.replace(/_(mbps|ms|pct)$/, '').replace('rtt', 'RTT').replace('_', ' ');
  if (statistic === 'share_at_least') return `${what} tests ≥ ${floor}`;
  if (statistic === 'ratio') return 'uptime';
  return `${STAT_WORDS[statistic]} ${what}`;
}

export class Profiles {
  constructor(readonly file: ProfilesFile) {}

  /** Per-class needs and scoring for the readiness criteria, when the file has them. */
  get readiness(): ReadinessConfig | undefined {
    return this.file.readiness;
  }

  names(): string[] {
    return Object.keys(this.file.profiles);
  }

  /** The profile a site is judged against: file override, else registry, else by link type, else the default. */
  profileNameFor(site: ProfileSite, warnings: string[] = []): string {
    const override = this.file.sites[site.code]?.profile;
    if (override) return override;
    if (site.profile) {
      if (site.profile in this.file.profiles) return site.profile;
      warnings.push(`site profile '${site.profile}' is not in the profiles file; judged against '${this.fallbackFor(site)}'`);
    }
    return this.fallbackFor(site);
  }

  private fallbackFor(site: ProfileSite): string {
    const byLink = site.linkType ? this.file.linkTypeProfiles[site.linkType] : undefined;
    return byLink ?? this.file.defaultProfile;
  }

  resolve(site: ProfileSite): ResolvedProfile {
    const warnings: string[] = [];
    const name = this.profileNameFor(site, warnings);
    const def = this.file.profiles[name]!;
    const override = this.file.sites[site.code];
    const students = override?.students ?? site.students;
    const ids = new Set(def.criteria.map((c) => c.id));
    for (const id of Object.keys(override?.criteria ?? {})) {
      if (!ids.has(id)) warnings.push(`override for criterion '${id}' ignored: profile '${name}' has no such criterion`);
    }
    const criteria: ResolvedCriterion[] = [];
    for (const c of def.criteria) {
      const o = override?.criteria[c.id];
      if (o?.disabled) continue;
      let threshold = o?.threshold ?? c.threshold;
      let scaled = false;
      const s = def.studentScaling;
      if (c.scaleWithStudents && s && students !== undefined && students > s.aboveStudents) {
        const needed = round(students * s.mbpsPerStudent);
        if (needed > threshold) {
          threshold = needed;
          scaled = true;
        }
      }
      const floor = o?.floor ?? c.floor;
      criteria.push({
        id: c.id,
        label: c.label ?? defaultLabel(c.metric, c.statistic, floor),
        metric: c.metric,
        statistic: c.statistic,
        ...(floor !== undefined ? { floor } : {}),
        threshold,
        baseThreshold: c.threshold,
        higherIsBetter: HIGHER_IS_BETTER[c.metric],
        minSamples: perKind(o?.minSamples ?? c.minSamples),
        scaledForStudents: scaled,
        informational: c.informational,
      });
    }
    return { name, description: def.description, ...(students !== undefined ? { students } : {}), criteria, warnings };
  }
}

function perKind(m: number | Record<PeriodKind, number>): Record<PeriodKind, number> {
  if (typeof m === 'number') return Object.fromEntries(PERIOD_KINDS.map((k) => [k, m])) as Record<PeriodKind, number>;
  return m;
}

/** Thresholds are shown and compared as written: avoid 0.05 × 900 = 45.00000000000001. */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export function parseProfiles(text: string, source = 'profiles'): Profiles {
  return new Profiles(parseYamlWith(text, ProfilesFile, source, 'target profiles', (message) => new ProfilesError(message)));
}

export function loadProfiles(path: string = DEFAULT_PROFILES_FILE): Profiles {
  return parseProfiles(readTextFile(path, 'target profiles', (message) => new ProfilesError(message)), path);
}

let defaults: Profiles | undefined;

/** The shipped profiles (read once). */
export function getDefaultProfiles(): Profiles {
  defaults ??= loadProfiles(DEFAULT_PROFILES_FILE);
  return defaults;
}
