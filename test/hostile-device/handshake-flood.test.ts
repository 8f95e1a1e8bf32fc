// Issue 14, case 6: unauthenticated handshakes locked devices out of the control channel. The shared
// handshake bucket was charged before the token was checked, so a flood of upgrades without credentials
// spent it and genuine agents got 503. Now the upgrade is authenticated first, only devices spend the
// admission budget, and failed upgrades are limited per client address (429 past the limit).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { CONTROL_PATH } from '../../protocol/control.ts';
import { createControlHub, type ControlHub } from '../../collector/control/hub.ts';
import { createLogger } from '../../collector/logger.ts';
import { type HostileStack, hostileStack } from './support.ts';

const influxUrl = inject('influxUrl');
let s: HostileStack;
let hub: ControlHub;
let server: Server;
let url: string;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  s = await hostileStack(influxUrl, 'hostile_handshakes');
  // A small admission budget that does not refill during the test: 5 genuine handshakes fit, no more.
  hub = createControlHub({
    registry: s.tc.registry, writer: s.tc.writer, logger: createLogger('silent'),
    options: { handshakeBurst: 5, handshakesPerSecond: 0.001, failedUpgradeBurst: 10, failedUpgradesPerSecond: 0.001, flushMs: 200, pollMs: 100, sweepMs: 300 },
  });
  server = createServer((_req, res) => res.end());
  server.on('upgrade', (req, socket, head: Buffer) => {
    if (!hub.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${CONTROL_PATH}`;
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await hub?.close();
  await new Promise((resolve) => server?.close(resolve));
  await s?.tc.cleanup();
});

/** One upgrade: 'open' or the HTTP status it was refused with. */
function upgrade(headers: Record<string, string>): Promise<number | 'open'> {
  const ws = new WebSocket(url, { headers });
  sockets.push(ws);
  ws.on('error', () => {});
  return new Promise((resolve) => {
    ws.on('open', () => resolve('open'));
    ws.on('unexpected-response', (req, res) => {
      req.on('error', () => {});
      res.resume();
      resolve(res.statusCode ?? 0);
    });
  });
}

describe('a flood of credential-less control-channel upgrades', () => {
  it('does not spend the admission budget, is limited per address, and genuine handshakes still succeed', async () => {
    const flood = await Promise.all(Array.from({ length: 60 }, (_, i) => upgrade(i % 2 ? {} : { authorization: `Bearer forged-${i}` })));
    // The first failures are told 401; past the per-address budget (10) the rest get 429.
    expect(flood.filter((o) => o === 401).length).toBe(10);
    expect(flood.filter((o) => o === 429).length).toBe(50);
    expect(hub.stats().shed).toBe(0);

    // Before the fix the 60 upgrades had spent the 5-handshake bucket and these got 503.
    const genuine = await Promise.all(Array.from({ length: 5 }, () => upgrade(s.tc.auth())));
    expect(genuine).toEqual(['open', 'open', 'open', 'open', 'open']);
    // The budget still bounds genuine handshakes.
    expect(await upgrade(s.tc.auth())).toBe(503);
  });
});
