// Devices a guard caught (the series budget today): kept in SQLite for the admin API and /healthz, and
// written to InfluxDB as a `device_flag` point (at most once a minute per device and flag) so the fleet
// dashboard shows them and the Grafana alert rule fires. See docs/data-model.md#device_flag.
import { Point } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import type { InfluxWriter } from '../influx/writer.ts';
import { type DeviceIdentity, identityTags } from '../influx/points.ts';
import type { Store } from '../store/store.ts';

export const DEVICE_FLAGS = ['series_budget'] as const;
export type DeviceFlag = (typeof DEVICE_FLAGS)[number];

export interface FlaggedDevice {
  deviceId: string;
  flag: DeviceFlag;
  siteCode: string;
  firstAt: number;
  lastAt: number;
  count: number;
  detail: string;
}

const POINT_INTERVAL_MS = 60_000;

export class DeviceFlags {
  private readonly lastPoint = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly writer: Pick<InfluxWriter, 'write'>,
    private readonly now: () => number,
    private readonly logger?: Logger,
  ) {}

  /**
   * Records `count` more occurrences; the InfluxDB point is best effort (the SQLite row is the record). The
   * point carries the site's registry tags like a result (site, device, commune, operator, link type), so
   * the fleet dashboard filters it and the Grafana rule groups it by commune.
   */
  async raise(deviceId: string, site: DeviceIdentity['site'], flag: DeviceFlag, count: number, detail: string): Promise<void> {
    const siteCode = site.code;
    const at = this.now();
    await this.store.run(
      `INSERT INTO device_flags (device_id, flag, site_code, first_at, last_at, count, detail) VALUES (@device, @flag, @site, @at, @at, @count, @detail)
       ON CONFLICT (device_id, flag) DO UPDATE SET site_code = @site, last_at = @at, count = device_flags.count + @count, detail = @detail`,
      { device: deviceId, flag, site: siteCode, at, count, detail },
    );
    const key = `${deviceId}\u0000${flag}`;
    if (at - (this.lastPoint.get(key) ?? -Infinity) < POINT_INTERVAL_MS) return;
    this.lastPoint.set(key, at);
    const total = (await this.store.get<{ count: number }>('SELECT count FROM device_flags WHERE device_id = ? AND flag = ?', deviceId, flag))!.count;
    const point = new Point('device_flag');
    for (const [name, value] of identityTags({ deviceId, site })) point.tag(name, value);
    point
      .tag('flag', flag)
      .floatField('count', total)
      .stringField('detail', detail)
      .timestamp(at);
    this.writer.write([point]).catch((error: Error) => this.logger?.warn({ err: error.message, device: deviceId, flag }, 'could not write the device_flag point; the flag is kept in SQLite'));
  }

  async list(): Promise<FlaggedDevice[]> {
    const rows = await this.store.all<{
      device_id: string; flag: DeviceFlag; site_code: string; first_at: number; last_at: number; count: number; detail: string;
    }>('SELECT * FROM device_flags ORDER BY last_at DESC');
    return rows.map((r) => ({ deviceId: r.device_id, flag: r.flag, siteCode: r.site_code, firstAt: r.first_at, lastAt: r.last_at, count: r.count, detail: r.detail }));
  }

  async count(): Promise<number> {
    if (!this.store.isOpen) return 0;
    return (await this.store.get<{ n: number }>('SELECT COUNT(DISTINCT device_id) AS n FROM device_flags'))!.n;
  }

  async clear(deviceId: string): Promise<number> {
    return (await this.store.run('DELETE FROM device_flags WHERE device_id = ?', deviceId)).changes;
  }
}
