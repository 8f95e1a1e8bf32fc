// vitest globalSetup: one real InfluxDB server for the whole run (vitest.config.ts). Tests read its URL with
// `inject('influxUrl')` and isolate by database name (test/support/influx-query.ts: uniqueTestDb, createDb).
// Tests that stop InfluxDB start their own with startInfluxd().
import type { TestProject } from 'vitest/node';
import { startInfluxd } from '../../scripts/influxd-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the shared InfluxDB 1.x server, e.g. http://127.0.0.1:41234 */
    influxUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startInfluxd({ log: (line) => console.log(`[global-influxd] ${line}`) });
  project.provide('influxUrl', server.url);
  return async () => {
    await server.stop();
  };
}
