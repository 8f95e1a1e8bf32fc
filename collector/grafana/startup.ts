// What the collector does at start-up for Grafana: hourly rollups (unless switched off) and the site_info
// publisher. Kept out of server.ts so the start-up change there is two lines.
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import type { Registry } from '../registry/registry.ts';
import { ensureRollups } from './rollups.ts';
import { startSiteInfoPublisher } from './site-info.ts';

export async function startGrafanaSupport(deps: { config: CollectorConfig; registry: Registry; writer: InfluxWriter; logger: Logger }): Promise<() => void> {
  const { config, registry, writer, logger } = deps;
  if (config.influx.rollups !== false) await ensureRollups(writer, { sourceRp: config.influx.retentionPolicy, logger });
  else logger.info('InfluxDB rollups disabled (SONGCHECK_INFLUX_ROLLUPS=false)');
  const publisher = startSiteInfoPublisher({ listSites: () => registry.listSites(), writer, logger });
  // Not awaited on failure paths: a down InfluxDB must not delay the collector's start; the next tick retries.
  await publisher.tick(true);
  return () => publisher.stop();
}
