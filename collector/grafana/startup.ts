// What the collector does at start-up for Grafana: hourly rollups (unless switched off) and the site_info
// publisher. Kept out of server.ts so the start-up change there is two lines.
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import type { Registry } from '../registry/registry.ts';
import { periodic } from '../periodic.ts';
import { ensureRollups, startRollupCatchUp } from './rollups.ts';
import { startSiteInfoPublisher } from './site-info.ts';

/** How often creating the rollups is retried after a failure (InfluxDB not up yet), and how many times. */
const ROLLUP_RETRY_MS = 60_000;
const ROLLUP_RETRIES = 60;

export async function startGrafanaSupport(deps: { config: CollectorConfig; registry: Registry; writer: InfluxWriter; logger: Logger }): Promise<() => Promise<void>> {
  const { config, registry, writer, logger } = deps;
  const stops: (() => Promise<void>)[] = [];
  if (config.influx.rollups !== false) {
    // One catch-up across the processes sharing the store (a lease in it).
    stops.push(startRollupCatchUp(writer, { sourceRp: config.influx.retentionPolicy, logger, lease: registry.store }));
    const first = await ensureRollups(writer, { sourceRp: config.influx.retentionPolicy, logger });
    if (!first.ok) {
      // InfluxDB may come up after the collector: try again every minute for an hour, then leave it to a restart.
      let attempts = 0;
      const retry = periodic('grafana.rollups', ROLLUP_RETRY_MS, async () => {
        const s = await ensureRollups(writer, { sourceRp: config.influx.retentionPolicy, logger });
        // Not awaited: stop() waits for the run in progress, which is this one.
        if (s.ok || ++attempts >= ROLLUP_RETRIES) void retry.stop();
      }, { logger });
      stops.push(() => retry.stop());
    }
  } else {
    logger.info('InfluxDB rollups disabled (SONGCHECK_INFLUX_ROLLUPS=false)');
  }
  const publisher = startSiteInfoPublisher({ listSites: () => registry.listSites(), writer, logger });
  stops.push(() => publisher.stop());
  // Not awaited: a slow InfluxDB must not hold the start. A failed publication is logged and retried next tick.
  void publisher.tick(true);
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
