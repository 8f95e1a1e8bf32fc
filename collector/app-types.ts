// Types shared by the app, its routes and its middleware (kept apart to avoid import cycles).
import type { Logger } from 'pino';
import type { InfluxWriter } from './influx/writer.ts';
import type { AuthenticatedDevice, Registry } from './registry/registry.ts';
import type { ThroughputService } from './throughput/service.ts';

export interface AppDeps {
  registry: Registry;
  writer: InfluxWriter;
  logger: Logger;
  /** Epoch ms; injectable so tests can pin "now" (future-timestamp checks, uptime). */
  clock?: () => number;
  version: string;
  /** Reserved for the admin API (sites, codes, devices over HTTP); no route uses it yet. */
  adminToken: string;
  /** The ndt7 and multi-stream HTTP test service (collector/throughput/); without it those routes are absent. */
  throughput?: Pick<ThroughputService, 'tokens' | 'store' | 'stats'>;
}

export type AppEnv = {
  Variables: {
    requestId: string;
    device: AuthenticatedDevice;
  };
};
