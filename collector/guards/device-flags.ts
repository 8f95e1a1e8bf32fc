// Devices a guard caught (the series budget today): kept in SQLite for the admin API and /healthz, and
// written to InfluxDB as a `device_flag` point (at most once a minute per device and flag) so the fleet
// dashboard shows them and the Grafana alert rule fires. See docs/data-model.md#device_flag.
import { Point } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import type { InfluxWriter } from '../influx/writer.ts';
import { normalizeTagValue } from '../influx/points.ts';
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

  /** Records `count` more occurrences; the InfluxDB point is best effort (the SQLite row is the record). */
  raise(deviceId: string, siteCode: string, flag: DeviceFlag, count: number, detail: string): void {
    const at = this.now();
    this.store
      .sql(
        `INSERT INTO device_flags (device_id, flag, site_code, first_at, last_at, count, detail) VALUES (@device, @flag, @site, @at, @at, @count, @detail)
         ON CONFLICT (device_id, flag) DO UPDATE SET site_code = @site, last_at = @at, count = count + @count, detail = @detail`,
      )
      .run({ device: deviceId, flag, site: siteCode, at, count, detail });
    const key = `${deviceId}\u0000${flag}`;
    if (at - (this.lastPoint.get(key) ?? -Infinity) < POINT_INTERVAL_MS) return;
    this.lastPoint.set(key, at);
    const total = (this.store.sql('SELECT count FROM device_flags WHERE device_id = ? AND flag = ?').get(deviceId, flag) as { count: number }).count;
    const point = new Point('device_flag')
      .tag('site', normalizeTagValue(siteCode) ?? '-')
      .tag('device', normalizeTagValue(deviceId) ?? '-')
      .tag('flag', flag)
      .floatField('count', total)
      .stringField('detail', detail)
      .timestamp(at);
    this.writer.write([point]).catch((error: Error) => this.logger?.warn({ err: error.message, device: deviceId, flag }, 'could not write the device_flag point; the flag is kept in SQLite'));
  }

  list(): FlaggedDevice[] {
    const rows = this.store.sql('SELECT * FROM device_flags ORDER BY last_at DESC').all() as {
      device_id: string; flag: DeviceFlag; site_code: string; first_at: number; last_at: number; count: number; detail: string;
    }[];
    return rows.map((r) => ({ deviceId: r.device_id, flag: r.flag, siteCode: r.site_code, firstAt: r.first_at, lastAt: r.last_at, count: r.count, detail: r.detail }));
  }

  count(): number {
    if (!this.store.isOpen) return 0;
    return (this.store.sql('SELECT COUNT(DISTINCT device_id) AS n FROM device_flags').get() as { n: number }).n;
  }

  clear(deviceId: string): number {
    return this.store.sql('DELETE FROM device_flags WHERE device_id = ?').run(deviceId).changes;
  }
}
