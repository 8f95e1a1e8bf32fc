// site_info against the real InfluxDB: what the geomap and the group/profile variables read.
import { describe, expect, inject, it } from 'vitest';
import { createDb, influxQuery, uniqueTestDb } from '../../test/support/influx-query.ts';
import { createInfluxWriter } from '../influx/writer.ts';
import type { Site } from '../registry/site.ts';
import { startSiteInfoPublisher } from './site-info.ts';

const influxUrl = inject('influxUrl');
const site = (code: string, extra: Partial<Site> = {}): Site => ({ code, name: `Trường ${code}`, groups: [], createdAt: 0, updatedAt: 0, ...extra });

describe('site_info publisher', () => {
  it('writes one point per site and group, again only on change or when the last one is an hour old', async () => {
    const db = uniqueTestDb('siteinfo');
    await createDb(influxUrl, db);
    const writer = createInfluxWriter({ url: influxUrl, database: db, timeoutMs: 10_000 });
    let now = Date.now() - 3 * 3_600_000;
    let sites = [
      site('A', { commune: 'Sa Pa', operator: 'viettel', linkType: '4g', latitude: 22.3, longitude: 103.8, students: 120, groups: ['Sa Pa cũ', 'cụm 1'], profile: 'school-4g' }),
      site('B'),
    ];
    let writes = 0;
    const counting = { write: async (p: Parameters<typeof writer.write>[0]) => (writes++, writer.write(p)) };
    const publisher = startSiteInfoPublisher({ listSites: async () => sites, writer: counting, clock: () => now, checkEveryMs: 3_600_000 });
    try {
      expect(await publisher.tick()).toBe(true);
      expect(await publisher.tick()).toBe(false);
      now += 30 * 60_000;
      expect(await publisher.tick()).toBe(false);
      expect(writes).toBe(1);

      const rows = await influxQuery(influxUrl, db, 'SELECT latitude, longitude, students, "name" FROM site_info GROUP BY *');
      expect(rows.map((r) => [r.tags.site, r.tags.group, r.tags.profile, r.tags.operator, r.latitude, r.students]).sort()).toEqual([
        ['A', 'Sa Pa cũ', 'school-4g', 'viettel', 22.3, 120],
        ['A', 'cụm 1', 'school-4g', 'viettel', 22.3, 120],
        ['B', '(none)', 'default', '', null, null],
      ]);

      sites = [{ ...sites[0]!, latitude: 22.5 }, sites[1]!];
      now += 60_000;
      expect(await publisher.tick()).toBe(true);
      const latest = await influxQuery(influxUrl, db, `SELECT last(latitude) FROM site_info WHERE site = 'A'`);
      expect(latest[0]!.last).toBe(22.5);
      now += 3_600_000;
      expect(await publisher.tick()).toBe(true);
      expect(writes).toBe(3);
    } finally {
      publisher.stop();
    }
  });

  it('keeps going when InfluxDB is down and publishes on the next tick', async () => {
    let fail = true;
    let written = 0;
    const publisher = startSiteInfoPublisher({
      listSites: async () => [site('A')],
      writer: { write: async (p) => { if (fail) throw new Error('ECONNREFUSED'); written += p.length; } },
      checkEveryMs: 3_600_000,
    });
    try {
      expect(await publisher.tick()).toBe(false);
      fail = false;
      expect(await publisher.tick()).toBe(true);
      expect(written).toBe(1);
    } finally {
      publisher.stop();
    }
  });
});
