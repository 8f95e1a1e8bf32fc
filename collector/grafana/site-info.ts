// Publishes the registry's site facts Grafana needs but InfluxDB does not hold (coordinates, name, groups,
// profile) as the `site_info` measurement. Grafana reads only InfluxDB, so the geomap and the group/profile
// variables read these points. Written at start-up, whenever the registry's sites change (checked every
// minute: the CLI edits the registry from another process), and at least hourly so any dashboard range of an
// hour or more holds a point. See docs/grafana.md#site-coordinates.
import { createHash } from 'node:crypto';
import { Point } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import type { InfluxWriter } from '../influx/writer.ts';
import { normalizeTagValue } from '../influx/points.ts';
import { periodic } from '../periodic.ts';
import type { Site } from '../registry/site.ts';

export const SITE_INFO_MEASUREMENT = 'site_info';
/** The `group` tag of a site in no group, so it still shows under every group filter that selects "all". */
export const NO_GROUP = '(none)';
/** The `profile` tag of a site without its own profile. */
export const DEFAULT_PROFILE = 'default';

/**
 * One point per site and group label (a site in two groups has two series), so `group` can be a tag the
 * Grafana variable lists with SHOW TAG VALUES. All points of one publication share the timestamp `at`.
 */
export function siteInfoPoints(sites: Site[], at: number): Point[] {
  const points: Point[] = [];
  for (const site of sites) {
    const groups = site.groups.length > 0 ? site.groups : [NO_GROUP];
    for (const group of groups) {
      const p = new Point(SITE_INFO_MEASUREMENT);
      const tags: [string, string | undefined][] = [
        ['site', site.code],
        ['commune', site.commune],
        ['operator', site.operator],
        ['link_type', site.linkType],
        ['profile', site.profile ?? DEFAULT_PROFILE],
        ['group', group],
      ];
      for (const [name, value] of tags) {
        const clean = normalizeTagValue(value);
        if (clean !== undefined) p.tag(name, clean);
      }
      p.stringField('name', site.name);
      if (site.latitude !== undefined && site.longitude !== undefined) {
        p.floatField('latitude', site.latitude);
        p.floatField('longitude', site.longitude);
      }
      if (site.students !== undefined) p.floatField('students', site.students);
      if (site.province !== undefined) p.stringField('province', site.province);
      p.timestamp(at);
      points.push(p);
    }
  }
  return points;
}

function fingerprint(sites: Site[]): string {
  const h = createHash('sha256');
  for (const s of sites) h.update(JSON.stringify([s.code, s.name, s.commune, s.operator, s.linkType, s.latitude, s.longitude, s.students, s.groups, s.profile, s.province]));
  return h.digest('hex');
}

export interface SiteInfoPublisher {
  /** Publishes now if the sites changed or the last publication is older than `maxAgeMs`. */
  tick(force?: boolean): Promise<boolean>;
  stop(): Promise<void>;
}

export function startSiteInfoPublisher(deps: {
  listSites: () => Promise<Site[]>;
  writer: Pick<InfluxWriter, 'write'>;
  logger?: Logger;
  clock?: () => number;
  checkEveryMs?: number;
  maxAgeMs?: number;
}): SiteInfoPublisher {
  const clock = deps.clock ?? Date.now;
  const maxAgeMs = deps.maxAgeMs ?? 3_600_000;
  let lastPrint = '';
  let lastAt = 0;
  let running: Promise<boolean> | undefined;

  const publish = async (force: boolean): Promise<boolean> => {
    const sites = await deps.listSites();
    const print = fingerprint(sites);
    const now = clock();
    if (!force && print === lastPrint && now - lastAt < maxAgeMs) return false;
    // Batches of 5 000 lines keep each /write well under InfluxDB's default body limits.
    const points = siteInfoPoints(sites, now);
    for (let i = 0; i < points.length; i += 5000) await deps.writer.write(points.slice(i, i + 5000));
    lastPrint = print;
    lastAt = now;
    deps.logger?.debug({ sites: sites.length }, 'site_info published');
    return true;
  };

  // One publication at a time; a tick during a slow write waits for it instead of writing twice.
  const once = (force: boolean) => (running ??= publish(force).finally(() => (running = undefined)));
  const tick = (force = false) =>
    once(force).catch((error: unknown) => {
      // InfluxDB down: the next tick retries (lastPrint is unchanged). Grafana only loses the map meanwhile.
      deps.logger?.warn({ err: (error as Error).message }, 'could not publish site_info; will retry');
      return false;
    });
  // The timer's failures are logged and counted in /healthz as `grafana.site-info` (collector/periodic.ts).
  const timer = periodic('grafana.site-info', deps.checkEveryMs ?? 60_000, () => once(false), deps.logger ? { logger: deps.logger } : {});
  return { tick, stop: () => timer.stop() };
}
