// A throughput service on a loopback HTTP server with a real registry in a temporary directory, for the
// throughput tests. `scheme` picks the base URL the tests use (ws for ndt7, http for the streams).
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { strongToken } from '../../test/support/secrets.ts';
import { Registry } from '../registry/registry.ts';
import { createThroughputService, type ThroughputService } from './service.ts';

export interface ThroughputTestServer {
  dir: string;
  registry: Registry;
  service: ThroughputService;
  base: string;
  close(): Promise<void>;
}

export async function startThroughputTestServer(opts: {
  scheme: 'ws' | 'http';
  /** Sites and devices the test needs, before the service starts. */
  seed: (registry: Registry) => Promise<void>;
  limits?: Parameters<typeof createThroughputService>[0]['limits'];
}): Promise<ThroughputTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'songcheck-throughput-'));
  const registry = await Registry.open(dir);
  await opts.seed(registry);
  const service = await createThroughputService({ registry, dataDir: dir, testTokenKey: strongToken(), logger: pino({ level: 'silent' }), ...(opts.limits ? { limits: opts.limits } : {}) });
  const server: Server = createServer((req, res) => service.handleRequest(req, res) || res.writeHead(404).end());
  server.on('upgrade', (req, socket, head: Buffer) => service.handleUpgrade(req, socket, head) || socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    dir,
    registry,
    service,
    base: `${opts.scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await service.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
