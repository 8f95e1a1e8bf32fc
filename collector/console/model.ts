// The console's view of the province: each site with its stored verdict, when it was last heard and
// whether it is silent. Built once per request from the registry, the alert state and the stored verdicts.
import type { Alerts } from '../alerts/service.ts';
import { filterSites } from '../registry/sheets.ts';
import type { Verdict } from '../compliance/judge.ts';
import type { DeviceInfo, Registry } from '../registry/registry.ts';
import type { Site } from '../registry/site.ts';
import type { StoredVerdict } from './data.ts';

/** Not heard for this long (wall clock) counts as silent even outside school hours, when the alert rule is quiet. */
export const SILENT_AFTER_MS = 24 * 3_600_000;

export interface SiteRow {
  site: Site;
  verdict?: StoredVerdict;
  devices: number;
  lastHeard?: number;
  silent: boolean;
}

/** Sites whose site-silent alert (any rule of kind site_silent) is pending or firing. */
export function silentByAlert(alerts: Alerts | undefined): Set<string> {
  if (!alerts) return new Set();
  const rules = new Set(alerts.config.rules.filter((r) => r.kind === 'site_silent').map((r) => r.id));
  return new Set(alerts.store.states().filter((s) => rules.has(s.ruleId) && s.state === 'firing').map((s) => s.siteCode));
}

export function siteRows(registry: Pick<Registry, 'listSites' | 'listDevices'>, verdicts: Map<string, StoredVerdict>, now: number, silentAlerts: Set<string>): SiteRow[] {
  const heard = new Map<string, { n: number; last?: number }>();
  for (const d of registry.listDevices()) {
    const h = heard.get(d.siteCode) ?? { n: 0 };
    h.n++;
    const seen = d.lastSeenAt ?? d.enrolledAt;
    h.last = Math.max(h.last ?? 0, seen);
    heard.set(d.siteCode, h);
  }
  return registry.listSites().map((site) => {
    const h = heard.get(site.code);
    // A site without an enrolled device has nothing to be silent about (it is "not enrolled", shown by its device count).
    const silent = h !== undefined && (silentAlerts.has(site.code) || now - (h.last ?? 0) > SILENT_AFTER_MS);
    return { site, verdict: verdicts.get(site.code), devices: h?.n ?? 0, lastHeard: h?.last, silent };
  });
}

export interface SiteFilter {
  q?: string;
  commune?: string;
  operator?: string;
  linkType?: string;
  group?: string;
  verdict?: Verdict | 'NONE';
  silent?: boolean;
}

export function filterRows(rows: SiteRow[], f: SiteFilter): SiteRow[] {
  const kept = new Set(filterSites(rows.map((r) => r.site), f).map((s) => s.code));
  return rows.filter(
    (r) =>
      kept.has(r.site.code) &&
      (f.linkType === undefined || r.site.linkType === f.linkType) &&
      (f.verdict === undefined || (r.verdict?.verdict ?? 'NONE') === f.verdict) &&
      (!f.silent || r.silent),
  );
}

export function counts(rows: SiteRow[]): Record<Verdict | 'NONE', number> {
  const c = { PASS: 0, FAIL: 0, INSUFFICIENT: 0, NONE: 0 };
  for (const r of rows) c[r.verdict?.verdict ?? 'NONE']++;
  return c;
}

/** The distinct values of a site field, sorted the Vietnamese way, for filter menus. */
export function choices(sites: Site[], pick: (s: Site) => string | string[] | undefined): string[] {
  const set = new Set<string>();
  for (const s of sites) {
    const v = pick(s);
    for (const x of Array.isArray(v) ? v : v === undefined ? [] : [v]) set.add(x);
  }
  return [...set].sort((a, b) => a.localeCompare(b, 'vi'));
}

export type { DeviceInfo };
