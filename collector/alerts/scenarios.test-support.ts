// A scenario rig for alert tests: a real registry file, the real InfluxDB of the test run, a loopback
// webhook receiver, and a fake clock the test moves. `service()` opens a new AlertService over the same
// SQLite file, as a restarted collector would.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Point } from '@influxdata/influxdb-client';
import { createInfluxWriter, type InfluxWriter } from '../influx/writer.ts';
import { Registry } from '../registry/registry.ts';
import { openCollectorStore } from '../database.ts';
import type { SiteInput } from '../registry/site.ts';
import { parseAlertsConfig } from './config.ts';
import { AlertService } from './service.ts';
import { type Receiver, startReceiver } from './test-receiver.test-support.ts';
import { strongToken } from '../../test/support/secrets.ts';

export const WEBHOOK_SECRET = strongToken();

/** Epoch ms of a local (UTC+7) time: Tuesday 24 Nov 2026 by default. */
export function local(hh: number, mm = 0, day = 24): number {
  return Date.UTC(2026, 10, day, hh - 7, mm);
}

export interface Rig {
  now: number;
  registry: Registry;
  writer: InfluxWriter;
  receiver: Receiver;
  /** device id per site code */
  devices: Map<string, string>;
  service(holder?: string): Promise<AlertService>;
  write(points: Point[]): Promise<void>;
  /** Messages the receiver accepted, by kind. */
  kinds(): string[];
  cleanup(): Promise<void>;
}

export async function createRig(opts: { influxUrl: string; db: string; start: number; sites: SiteInput[]; rules: unknown[]; digestAt?: string }): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-alerts-'));
  const receiver = await startReceiver();
  const writer = createInfluxWriter({ url: opts.influxUrl, database: opts.db, timeoutMs: 10_000 });
  await writer.ensureDatabase();
  const rig: Rig = {
    now: opts.start,
    registry: undefined as unknown as Registry,
    writer,
    receiver,
    devices: new Map(),
    service: async (holder) => {
      const s = new AlertService({ config, store: await openCollectorStore(dir), registry: rig.registry, query: (q) => writer.query(q), clock: () => rig.now, holder });
      opened.push(s);
      return s;
    },
    write: (points) => writer.write(points),
    kinds: () => receiver.accepted().map((m) => m.kind as string),
    async cleanup() {
      for (const s of opened) await s.store.db.close();
      await rig.registry.close();
      await receiver.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  const opened: AlertService[] = [];
  rig.registry = await Registry.open(dir, { now: () => rig.now });
  for (const site of opts.sites) {
    await rig.registry.addSite(site);
    const { code } = await rig.registry.createEnrollmentCode(site.code);
    rig.devices.set(site.code, (await rig.registry.enroll(code, { hostname: `pc-${site.code}` })).deviceId);
  }
  const config = parseAlertsConfig({
    grafanaUrl: 'http://grafana.test:3000',
    digest: opts.digestAt ? { enabled: true, atLocal: opts.digestAt } : { enabled: false },
    delivery: { maxAttempts: 5, baseDelaySeconds: 30, maxDelaySeconds: 600, failingAfter: 3 },
    channels: [{ id: 'hook', type: 'webhook', url: `${receiver.url}/hook`, secret: WEBHOOK_SECRET, lang: 'en' }],
    rules: opts.rules,
  });
  return rig;
}
