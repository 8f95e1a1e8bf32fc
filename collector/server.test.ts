// startCollector on a real socket: port 0, health over HTTP, and a graceful close that lets an
// in-flight measurement request finish (its acknowledgement must not be lost) before SQLite closes.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { uniqueTestDb } from '../test/support/influx-query.ts';
import type { CollectorConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { Registry } from './registry/registry.ts';
import { startCollector } from './server.ts';
import { strongToken } from '../test/support/secrets.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function config(influxUrl: string): CollectorConfig {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-server-'));
  dirs.push(dataDir);
  return {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    adminToken: strongToken(),
    testTokenKey: strongToken(),
    logLevel: 'silent',
    workers: 1,
    influx: { url: influxUrl, database: uniqueTestDb('collector_server'), timeoutMs: 5000 },
  };
}

describe('startCollector', () => {
  it('listens on the actual port, creates the database and serves health', async () => {
    const collector = await startCollector(config(inject('influxUrl')), { logger: createLogger('silent') });
    try {
      expect(collector.url).toBe(`http://127.0.0.1:${collector.port}`);
      expect(collector.port).toBeGreaterThan(0);
      const health = await fetch(`${collector.url}/healthz`);
      expect(health.status).toBe(200);
      expect((await fetch(`${collector.url}/api/v1/ping`)).status).toBe(204);
    } finally {
      await collector.close();
    }
    await expect(fetch(`${collector.url}/healthz`)).rejects.toThrow();
  });

  it('on close, finishes the request in flight before stopping', async () => {
    // An InfluxDB stand-in that holds the write until the test releases it (fault injection).
    let release!: () => void;
    let writeArrived!: () => void;
    const arrived = new Promise<void>((r) => (writeArrived = r));
    const influx = http.createServer((req, res) => {
      if (req.url?.startsWith('/write')) {
        // The collector's own site_info publication at start-up passes; results are held.
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          if (body.startsWith('site_info')) return void res.writeHead(204).end();
          writeArrived();
          release = () => res.writeHead(204).end();
        });
        return;
      }
      res.writeHead(req.url?.startsWith('/query') ? 200 : 204, { 'content-type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
    });
    await new Promise<void>((r) => influx.listen(0, '127.0.0.1', r));
    const cfg = config(`http://127.0.0.1:${(influx.address() as AddressInfo).port}`);
    const registry = await Registry.open(cfg.dataDir);
    await registry.addSite({ code: 'S1', name: 'Site 1' });
    const { token } = await registry.enroll((await registry.createEnrollmentCode('S1')).code);
    await registry.close();

    const collector = await startCollector(cfg, { logger: createLogger('silent') });
    try {
      const result = { id: 'res-000001', probe: 'tcp', target: 'x:443', measuredAt: Date.now(), code: 'ok', fields: { sent: 1, received: 1, loss_pct: 0 } };
      const inFlight = fetch(`${collector.url}/api/v1/measurements`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ results: [result] }),
      });
      await arrived;
      let closed = false;
      const closing = collector.close().then(() => (closed = true));
      // Stopped accepting: a new connection is refused while the old request is still open.
      await expect(fetch(`${collector.url}/healthz`, { headers: { connection: 'close' } })).rejects.toThrow();
      expect(closed).toBe(false);
      release();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { stored: number }).stored).toBe(1);
      await closing;
    } finally {
      await collector.close();
      influx.closeAllConnections();
      await new Promise((r) => influx.close(r));
    }
  });
});
