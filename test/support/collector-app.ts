// Builds a collector app for tests: a registry in a temporary directory with one site and one enrolled
// device, a writer pointed at the given InfluxDB, and a logger whose lines the test can read.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type AppDeps, createApp } from '../../collector/app.ts';
import { createInfluxWriter, type InfluxWriter } from '../../collector/influx/writer.ts';
import { createLogger } from '../../collector/logger.ts';
import { Registry } from '../../collector/registry/registry.ts';
import type { SiteInput } from '../../collector/registry/site.ts';
import { strongToken } from './secrets.ts';

export const TEST_SITE: SiteInput = { code: 'LC-001', name: 'Điểm trường Bản Xèo', commune: 'Bản Xèo', operator: 'viettel', linkType: '4g' };

export interface TestCollector {
  app: ReturnType<typeof createApp>;
  registry: Registry;
  writer: InfluxWriter;
  deviceId: string;
  token: string;
  /** The app's admin token (random and strong, test/support/secrets.ts). */
  adminToken: string;
  logs: string[];
  /** Headers for an authenticated JSON request. */
  auth(extra?: Record<string, string>): Record<string, string>;
  /** Headers for an admin JSON request. */
  adminAuth(extra?: Record<string, string>): Record<string, string>;
  cleanup(): Promise<void>;
}

export async function createTestCollector(opts: {
  influxUrl: string;
  db: string;
  clock?: () => number;
  timeoutMs?: number;
  /** Rate limits, body cap, ... for the app. */
  app?: Partial<Pick<AppDeps, 'limits' | 'maxBodyBytes' | 'trustProxy' | 'publicUrl' | 'guardOptions' | 'console'>>;
}): Promise<TestCollector> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-collector-test-'));
  const registry = await Registry.open(dir, { now: opts.clock });
  await registry.addSite(TEST_SITE);
  const { code } = await registry.createEnrollmentCode(TEST_SITE.code);
  const { deviceId, token } = await registry.enroll(code, { hostname: 'PC-01' });
  const logs: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logs.push(line) });
  const writer = createInfluxWriter({ url: opts.influxUrl, database: opts.db, timeoutMs: opts.timeoutMs ?? 5000 });
  const adminToken = strongToken();
  const app = createApp({ registry, writer, logger, clock: opts.clock, version: '0.0.0-test', adminToken, ...opts.app });
  return {
    app,
    registry,
    writer,
    deviceId,
    token,
    adminToken,
    logs,
    auth: (extra = {}) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extra }),
    adminAuth: (extra = {}) => ({ authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...extra }),
    async cleanup() {
      await registry.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
