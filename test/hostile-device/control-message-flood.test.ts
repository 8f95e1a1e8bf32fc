// Issue 14, case 8: control messages were not budgeted. Each `config_result` is a store write on the event
// loop; one enrolled device sending 60 000 of them in 4 s slowed every other request of the collector. Now
// each connection has a message budget: past it messages are dropped unread, a connection that keeps
// sending is closed (1008, with the reason) and its device cools down before it may reconnect; a state
// message identical to the connection's previous one is dropped without a write. Real collector
// (startCollector), real WebSockets; the budget is shortened.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { HealthResponse } from '../../protocol/api.ts';
import { CONTROL_PATH, CONTROL_PROTOCOL_VERSION } from '../../protocol/control.ts';
import type { CollectorConfig } from '../../collector/config.ts';
import { createLogger } from '../../collector/logger.ts';
import { Registry } from '../../collector/registry/registry.ts';
import { type RunningCollector, startCollector } from '../../collector/server.ts';
import { uniqueTestDb } from '../support/influx-query.ts';
import { strongToken } from '../support/secrets.ts';

const ADMIN = strongToken();
const BURST = 20;
let dataDir: string;
let collector: RunningCollector;
const devices = { hostile: { id: '', token: '' }, honest: { id: '', token: '' }, looper: { id: '', token: '' } };
const sockets: WebSocket[] = [];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-control-flood-'));
  const registry = await Registry.open(dataDir);
  await registry.addSite({ code: 'FLOOD-A', name: 'site of the hostile device' });
  await registry.addSite({ code: 'FLOOD-B', name: 'another site' });
  const codeA = (await registry.createEnrollmentCode('FLOOD-A', { uses: 2 })).code;
  const a = await registry.enroll(codeA, { hostname: 'HOSTILE' });
  const c = await registry.enroll(codeA, { hostname: 'LOOPER' });
  const b = await registry.enroll((await registry.createEnrollmentCode('FLOOD-B')).code, { hostname: 'HONEST' });
  devices.hostile = { id: a.deviceId, token: a.token };
  devices.honest = { id: b.deviceId, token: b.token };
  devices.looper = { id: c.deviceId, token: c.token };
  await registry.close();
  const config: CollectorConfig = {
    host: '127.0.0.1', port: 0, dataDir, adminToken: ADMIN, testTokenKey: strongToken(), logLevel: 'silent', workers: 1,
    influx: { url: inject('influxUrl'), database: uniqueTestDb('control_flood'), timeoutMs: 5000, rollups: false },
    control: { messagesPerSecond: 5, messageBurst: BURST, floodCooldownSeconds: 60, deviceHandshakeBurst: 5, deviceHandshakesPerMinute: 6 },
  };
  collector = await startCollector(config, { logger: createLogger('silent') });
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await collector?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A control-channel connection that has said hello; or the status its upgrade was refused with. */
async function connect(token: string): Promise<{ ws: WebSocket; messages: Record<string, unknown>[] } | number> {
  const ws = new WebSocket(`${collector.url.replace('http', 'ws')}${CONTROL_PATH}`, { headers: { authorization: `Bearer ${token}` } });
  sockets.push(ws);
  ws.on('error', () => {});
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
  const opened = await new Promise<boolean | number>((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('unexpected-response', (_req, res) => (res.resume(), resolve(res.statusCode ?? 0)));
  });
  if (opened !== true) return opened as number;
  ws.send(JSON.stringify({ type: 'hello', v: CONTROL_PROTOCOL_VERSION, agentVersion: '0.0.0-test', configVersion: 0 }));
  return { ws, messages };
}

async function control() {
  return HealthResponse.parse(await (await fetch(`${collector.url}/healthz`)).json()).control!;
}

async function reportedVersion(deviceId: string): Promise<number | undefined> {
  const res = await fetch(`${collector.url}/api/v1/admin/agent-configs/status`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const body = (await res.json()) as { devices: { deviceId: string; reportedVersion?: number }[] };
  return body.devices.find((d) => d.deviceId === deviceId)?.reportedVersion;
}

/** A heartbeat and its answer (bounded wait): the collector still serves this connection. */
async function heartbeat(c: { ws: WebSocket; messages: Record<string, unknown>[] }, seq: number): Promise<boolean> {
  c.ws.send(JSON.stringify({ type: 'heartbeat', seq, t0: Date.now() }));
  for (let i = 0; i < 50; i++) {
    if (c.messages.some((m) => m.type === 'heartbeat_ack' && m.seq === seq)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('an enrolled device flooding its control-channel WebSocket', () => {
  it('60 000 config_result messages: throttled, then closed with a clear reason; the writes stay bounded; another device is served; a reconnect waits', async () => {
    const honest = await connect(devices.honest.token);
    const hostile = await connect(devices.hostile.token);
    if (typeof honest === 'number' || typeof hostile === 'number') throw new Error('both devices should connect');
    const closed = new Promise<[number, string]>((resolve) => hostile.ws.once('close', (code, reason) => resolve([code, reason.toString()])));
    // Each message different (a new version), so none is dropped as a repeat: only the budget stops them.
    for (let i = 1; i <= 60_000 && hostile.ws.readyState === hostile.ws.OPEN; i++) {
      hostile.ws.send(JSON.stringify({ type: 'config_result', version: i, status: 'rejected', reason: 'flood' }));
      if (i % 2_000 === 0) await new Promise((r) => setImmediate(r));
    }
    const [code, reason] = await Promise.race([closed, new Promise<[number, string]>((r) => setTimeout(() => r([0, 'not closed']), 10_000))]);
    expect(code).toBe(1008);
    expect(reason).toContain('control message budget exceeded');

    // At most the burst and what the rate refilled meanwhile was handled: the store saw tens of writes, not 60 000.
    const stored = (await reportedVersion(devices.hostile.id)) ?? 0;
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(BURST + 30);
    const h = await control();
    expect(h.messageBudget).toMatchObject({ messagesPerSecond: 5, messageBurst: BURST, closed: 1 });
    expect(h.messageBudget.throttled).toBeGreaterThan(BURST);

    // The other site's device is unaffected.
    expect(await heartbeat(honest, 1)).toBe(true);
    expect(honest.ws.readyState).toBe(WebSocket.OPEN);
    // Reconnecting at once does not start the flood again: 429 until the cool-down ends.
    expect(await connect(devices.hostile.token)).toBe(429);
    expect((await control()).messageBudget.refusedCoolingDown).toBeGreaterThanOrEqual(1);
    honest.ws.close();
  });

  it('identical consecutive state messages are dropped without a write', async () => {
    const honest = await connect(devices.honest.token);
    if (typeof honest === 'number') throw new Error('the honest device should connect');
    expect(await heartbeat(honest, 1)).toBe(true);
    const before = await control();
    const same = JSON.stringify({ type: 'config_result', version: 7, status: 'rejected', reason: 'same again' });
    for (let i = 0; i < 10; i++) honest.ws.send(same);
    expect(await heartbeat(honest, 2)).toBe(true);
    const after = await control();
    expect(after.messageBudget.droppedIdentical - before.messageBudget.droppedIdentical).toBe(9);
    expect(await reportedVersion(devices.honest.id)).toBe(7);
    // A different state is handled again.
    honest.ws.send(JSON.stringify({ type: 'config_result', version: 8, status: 'rejected', reason: 'another' }));
    expect(await heartbeat(honest, 3)).toBe(true);
    expect(await reportedVersion(devices.honest.id)).toBe(8);
    expect(honest.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a device reconnecting in a loop with its valid token is refused by its own handshake budget, not the shared one', async () => {
    const outcomes: (number | 'open')[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await connect(devices.looper.token);
      outcomes.push(typeof c === 'number' ? c : 'open');
      if (typeof c !== 'number') c.ws.terminate();
    }
    // Before: 20 × open, each spending the handshake budget every device shares.
    expect(outcomes.filter((o) => o === 'open')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 429)).toHaveLength(15);
    const h = await control();
    expect(h.refusedDeviceHandshakes).toBe(15);
    expect(h.shed).toBe(0);
    const honest = await connect(devices.honest.token);
    expect(typeof honest).not.toBe('number');
  });
});
