// The control hub on a real HTTP server, with real WebSocket clients and the real InfluxDB: authentication,
// heartbeats with timestamps, bad messages, presence in SQLite and InfluxDB, configuration and command
// delivery, admission control, and the shutdown hint.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { CollectorMessage, CONTROL_MAX_MESSAGE_BYTES, CONTROL_PATH } from '../../protocol/control.ts';
import { createDb, influxQuery, uniqueTestDb } from '../../test/support/influx-query.ts';
import { eventually } from '../../test/support/processes.ts';
import { createTestCollector, type TestCollector } from '../../test/support/collector-app.ts';
import { createControlHub, type ControlHub, type ControlOptions } from './hub.ts';
import { configStatus, pushConfig, queueCommand } from './operations.ts';

const influxUrl = inject('influxUrl');
let db: string;
let tc: TestCollector;
let hub: ControlHub;
let server: Server;
let url: string;
const sockets: WebSocket[] = [];

async function start(options: Partial<ControlOptions> = {}): Promise<void> {
  hub = createControlHub({ registry: tc.registry, writer: tc.writer, logger: (await import('../logger.ts')).createLogger('silent'), options: { flushMs: 200, pollMs: 100, sweepMs: 300, ...options } });
  server = createServer((_req, res) => res.end());
  server.on('upgrade', (req, socket, head: Buffer) => {
    if (!hub.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${CONTROL_PATH}`;
}

interface Client {
  ws: WebSocket;
  messages: CollectorMessage[];
  next(type: CollectorMessage['type'], timeoutMs?: number): Promise<CollectorMessage>;
  closed: Promise<{ code: number; reason: string }>;
}

function connect(token: string | null = tc.token): Promise<Client | { status: number; retryAfter?: string; body: string }> {
  const ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  sockets.push(ws);
  const messages: CollectorMessage[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (data) => messages.push(CollectorMessage.parse(JSON.parse(data.toString()))));
  ws.on('error', () => {});
  const client: Client = {
    ws,
    messages,
    closed,
    next: (type, timeoutMs = 10_000) => eventually(() => messages.find((m) => m.type === type), timeoutMs, `a ${type} message`, 20),
  };
  return new Promise((resolve) => {
    ws.on('open', () => resolve(client));
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body }));
      req.on('error', () => {});
    });
  });
}

async function open(token?: string | null): Promise<Client> {
  const c = await connect(token);
  if (!('ws' in c)) throw new Error(`refused: ${c.status} ${c.body}`);
  return c;
}

async function hello(c: Client, configVersion = 0): Promise<void> {
  await c.next('welcome');
  c.ws.send(JSON.stringify({ type: 'hello', v: 1, agentVersion: '9.9.9-test', configVersion }));
}

beforeEach(async () => {
  db = uniqueTestDb('control');
  await createDb(influxUrl, db);
  tc = await createTestCollector({ influxUrl, db });
});

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await hub?.close();
  await new Promise((resolve) => server?.close(resolve));
  await tc.cleanup();
});

describe('control channel hub', () => {
  it('refuses an upgrade without a token, with an unknown token, and closes an open socket with 4401 when the device is revoked', async () => {
    await start();
    const none = await connect(null);
    expect(none).toMatchObject({ status: 401 });
    expect((none as { body: string }).body).toContain('Authorization: Bearer');
    expect(await connect('not-a-real-token')).toMatchObject({ status: 401 });

    const c = await open();
    await hello(c);
    await tc.registry.revokeDevice(tc.deviceId, { reason: 'test' });
    expect((await c.closed).code).toBe(4401);
    expect(await connect()).toMatchObject({ status: 401 });
  });

  it('answers a heartbeat with the collector receive and send times, and a bad message with an error while the socket stays up', async () => {
    await start();
    const c = await open();
    const welcome = await c.next('welcome');
    expect(welcome).toMatchObject({ v: 1, deviceId: tc.deviceId, site: 'LC-001' });
    const t0 = Date.now();
    c.ws.send(JSON.stringify({ type: 'heartbeat', seq: 7, t0 }));
    const ack = await c.next('heartbeat_ack');
    expect(ack).toMatchObject({ seq: 7, t0 });
    if (ack.type !== 'heartbeat_ack') throw new Error('unreachable');
    expect(ack.t2).toBeGreaterThanOrEqual(ack.t1);
    expect(Math.abs(ack.t1 - t0)).toBeLessThan(60_000);

    c.ws.send('{"type":"heartbeat","seq":-1}');
    const error = await c.next('error');
    expect(error).toMatchObject({ code: 'bad_message' });
    expect((error as { message: string }).message).toMatch(/seq|t0/);
    c.ws.send('not json');
    await eventually(() => (c.messages.filter((m) => m.type === 'error').length === 2 ? true : undefined), 5000, 'a second error');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);

    // Over the size bound: closed with 1009 (message too big), never buffered.
    c.ws.send('x'.repeat(CONTROL_MAX_MESSAGE_BYTES + 10));
    expect((await c.closed).code).toBe(1009);
  });

  it('writes presence to InfluxDB on connect, every sweep, and on disconnect, and last_seen_at to the registry', async () => {
    await start();
    const enrolledSeen = (await tc.registry.getDevice(tc.deviceId))!.lastSeenAt ?? 0;
    const connectedAt = Date.now();
    const c = await open();
    await hello(c);
    c.ws.send(JSON.stringify({ type: 'heartbeat', seq: 1, t0: Date.now(), offsetMs: 1234 }));
    await c.next('heartbeat_ack');
    const connected = await eventually(async () => {
      const rows = await influxQuery(influxUrl, db, `SELECT * FROM presence WHERE device = '${tc.deviceId}' AND clock_offset_ms = 1234`);
      return rows.find((r) => r.connected === true);
    }, 20_000, 'a connected presence point with the offset');
    expect(connected).toMatchObject({ site: 'LC-001', commune: 'Bản Xèo', operator: 'viettel', link_type: '4g', revoked: false, agent_version: '9.9.9-test' });
    expect(connected.last_seen_age_s as number).toBeLessThan(60);
    // Written throttled (registry.touchDevice: once a minute per device), in the hub's flush.
    await eventually(async () => (((await tc.registry.getDevice(tc.deviceId))!.lastSeenAt ?? 0) >= Math.max(connectedAt, enrolledSeen) ? true : undefined), 10_000, 'the heartbeat in last_seen_at');

    c.ws.close();
    await c.closed;
    await eventually(async () => {
      const rows = await influxQuery(influxUrl, db, `SELECT last(connected) FROM presence WHERE device = '${tc.deviceId}'`);
      return rows[0]?.last === false ? true : undefined;
    }, 20_000, 'a disconnected presence point');
  });

  it('delivers the configuration meant for the device on connect and on change, and records applied and rejected answers', async () => {
    await start();
    const store = hub.store;
    const all = await pushConfig(tc.registry, store, { all: true }, { upload: { intervalSeconds: 120 } }, 'test');
    const c = await open();
    await hello(c);
    const first = await c.next('config');
    expect(first).toMatchObject({ version: all.version, config: { upload: { intervalSeconds: 120 } } });
    c.ws.send(JSON.stringify({ type: 'config_result', version: all.version, status: 'applied' }));
    await eventually(async () => ((await configStatus(tc.registry, store))[0]?.state === 'applied' ? true : undefined), 5000, 'applied state');

    // A site's own configuration beats one for all agents, and reaches the open socket.
    const site = await pushConfig(tc.registry, store, { site: 'LC-001' }, { upload: { intervalSeconds: 30 } }, 'test');
    await eventually(() => c.messages.find((m) => m.type === 'config' && m.version === site.version), 5000, 'the site configuration');
    expect((await configStatus(tc.registry, store))[0]).toMatchObject({ wantedVersion: site.version, state: 'pending' });
    c.ws.send(JSON.stringify({ type: 'config_result', version: site.version, status: 'rejected', reason: 'disk full' }));
    await eventually(async () => ((await configStatus(tc.registry, store))[0]?.state === 'rejected' ? true : undefined), 5000, 'rejected state');
    expect((await configStatus(tc.registry, store))[0]).toMatchObject({ reason: 'disk full', reportedVersion: site.version });
    // A later push to all does not override the site's own.
    await pushConfig(tc.registry, store, { all: true }, { upload: { intervalSeconds: 90 } }, 'test');
    expect((await configStatus(tc.registry, store))[0]!.wantedVersion).toBe(site.version);

    await expect(pushConfig(tc.registry, store, { all: true }, { upload: { intervalSeconds: -1 } }, 'test')).rejects.toThrow(/upload.intervalSeconds/);
    await expect(pushConfig(tc.registry, store, { all: true }, { collectorUrl: 'http://elsewhere' }, 'test')).rejects.toThrow(/collectorUrl/);
    await expect(pushConfig(tc.registry, store, { group: 'nope' }, {}, 'test')).rejects.toThrow(/no site is in group/);
  });

  it('gives a device moved to another site that site\'s configuration at once', async () => {
    await start();
    await tc.registry.addSite({ code: 'LC-002', name: 'Điểm trường khác' });
    const other = await pushConfig(tc.registry, hub.store, { site: 'LC-002' }, { upload: { intervalSeconds: 45 } }, 'test');
    const c = await open();
    await hello(c);
    await tc.registry.moveDevice(tc.deviceId, 'LC-002');
    const pushed = await c.next('config');
    expect(pushed).toMatchObject({ version: other.version, config: { upload: { intervalSeconds: 45 } } });
  });

  it('sends a queued command once and records its answer', async () => {
    await start();
    const c = await open();
    await hello(c);
    const [cmd] = await queueCommand(tc.registry, hub.store, { device: tc.deviceId }, { kind: 'run_probe', probe: 'tcp', targets: ['127.0.0.1:9'] }, 'test');
    const sent = await c.next('command');
    expect(sent).toMatchObject({ id: cmd!.id, command: { kind: 'run_probe', probe: 'tcp', targets: ['127.0.0.1:9'] } });
    expect((await hub.store.getCommand(cmd!.id))!.status).toBe('sent');
    c.ws.send(JSON.stringify({ type: 'command_result', id: cmd!.id, status: 'done', detail: '1 result(s) queued' }));
    await eventually(async () => ((await hub.store.getCommand(cmd!.id))!.status === 'done' ? true : undefined), 5000, 'done');
    await expect(queueCommand(tc.registry, hub.store, { device: tc.deviceId }, { kind: 'run_probe', probe: 'nope' }, 'test')).rejects.toThrow(/unknown probe/);
    // Another device cannot answer for it.
    const { code } = await tc.registry.createEnrollmentCode('LC-001');
    const intruder = await tc.registry.enroll(code);
    const [second] = await queueCommand(tc.registry, hub.store, { device: tc.deviceId }, { kind: 'run_probe', probe: 'tcp' }, 'test');
    const i = await open(intruder.token);
    await hello(i);
    i.ws.send(JSON.stringify({ type: 'command_result', id: second!.id, status: 'failed', detail: 'forged' }));
    expect(await i.next('error')).toMatchObject({ code: 'bad_message' });
    expect((await hub.store.getCommand(second!.id))!.status).not.toBe('failed');
  });

  it('sheds handshakes over the admission budget with 503 and a Retry-After, and tells agents to come back later before a shutdown', async () => {
    await start({ handshakeBurst: 3, handshakesPerSecond: 0.1 });
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => connect()));
    const accepted = outcomes.filter((o) => 'ws' in o) as Client[];
    const refused = outcomes.filter((o) => !('ws' in o)) as { status: number; retryAfter?: string; body: string }[];
    expect(accepted.length).toBe(3);
    expect(refused.length).toBe(7);
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'busy' } });
    }
    expect(hub.stats().shed).toBe(7);

    // All ten used one device's token: each accepted socket replaced the one before (closed with 4409,
    // "replaced"). Which one came last depends on how fast each authenticated, so wait for the survivor.
    const last = await eventually(() => {
      const open = accepted.filter((c) => c.ws.readyState === WebSocket.OPEN);
      return open.length === 1 ? open[0] : undefined;
    }, 10_000, 'one accepted socket left open');
    await hello(last);
    await hub.close();
    const hint = await last.next('reconnect');
    expect((hint as { afterMs: number }).afterMs).toBeGreaterThanOrEqual(1000);
    expect((await last.closed).code).toBe(1012);
  });
});
