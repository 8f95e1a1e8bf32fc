// WebSocket device authentication on a real `ws` server on loopback: refused upgrades get the JSON error,
// a revocation closes the open socket with 4401 at once (also when another process revoked the device),
// and an oversized message closes it with 1009.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { ErrorBody } from '../../protocol/api.ts';
import { Registry } from '../registry/registry.ts';
import { acceptDeviceUpgrade, RevocationGuard, WS_CLOSE_REVOKED } from './ws-upgrade.ts';

let dir: string;
let registry: Registry;
let server: http.Server;
let wss: WebSocketServer;
let guard: RevocationGuard;
let url: string;
let stopWatching: () => Promise<void>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-ws-'));
  registry = await Registry.open(dir);
  await registry.addSite({ code: 'WS-1', name: 'Site' });
  stopWatching = registry.watchChanges(50);
  guard = new RevocationGuard(registry);
  wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head: Buffer) => {
    void acceptDeviceUpgrade({ wss, registry, guard, req, socket, head }, (ws, auth) => {
      ws.send(JSON.stringify({ device: auth.device.id, site: auth.site.code }));
      ws.on('message', (data) => ws.send(data));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/control`;
});
afterAll(async () => {
  await stopWatching();
  guard.close();
  for (const client of wss.clients) client.terminate();
  wss.close();
  await new Promise((r) => server.close(r));
  await registry.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function enroll() {
  return await registry.enroll((await registry.createEnrollmentCode('WS-1')).code);
}

/** Opens a socket with the token and resolves with it and its first message. */
function connect(token: string): Promise<{ ws: WebSocket; hello: { device: string; site: string }; closed: Promise<{ code: number; reason: string }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.once('message', (data) => resolve({ ws, hello: JSON.parse(data.toString()) as { device: string; site: string }, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** The refused upgrade's status and JSON body. */
function refused(headers: Record<string, string>): Promise<{ status: number; body: unknown; challenge?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => reject(new Error('upgrade was accepted')));
    ws.once('error', () => {});
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), challenge: res.headers['www-authenticate'] as string | undefined }));
    });
  });
}

const within = <T>(p: Promise<T>, ms = 5000) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms).unref())]);

describe('WebSocket device auth', () => {
  it('accepts a device token and knows the device and site', async () => {
    const { deviceId, token } = await enroll();
    const { ws, hello } = await connect(token);
    expect(hello).toEqual({ device: deviceId, site: 'WS-1' });
    expect(guard.size).toBeGreaterThanOrEqual(1);
    ws.close();
  });

  it('refuses a missing, unknown or revoked token with 401 and the usual error body', async () => {
    const { deviceId, token } = await enroll();
    await registry.revokeDevice(deviceId);
    for (const headers of [{}, { authorization: 'Bearer nope-nope-nope' }, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
      const r = await refused(headers);
      expect(r.status).toBe(401);
      expect(r.challenge).toBe('Bearer realm="songcheck"');
      expect(ErrorBody.parse(r.body).error.code).toBe('unauthorized');
    }
  });

  it('closes an open socket with 4401 the moment its device is revoked, and only that socket', async () => {
    const a = await enroll();
    const b = await enroll();
    const first = await connect(a.token);
    const second = await connect(a.token);
    const other = await connect(b.token);
    await registry.revokeDevice(a.deviceId, { reason: 'test' });
    expect(await within(first.closed)).toEqual({ code: WS_CLOSE_REVOKED, reason: 'device revoked' });
    expect(await within(second.closed)).toMatchObject({ code: WS_CLOSE_REVOKED });
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
    await other.ws.close();
  });

  it('closes it too when another process (the CLI, another worker) revokes the device', async () => {
    const d = await enroll();
    const open = await connect(d.token);
    const cli = await Registry.open(dir);
    try {
      await cli.revokeDevice(d.deviceId, { actor: 'cli test' });
    } finally {
      await cli.close();
    }
    expect(await within(open.closed)).toMatchObject({ code: WS_CLOSE_REVOKED });
  });

  it('closes a socket that sends a message over maxPayload with 1009', async () => {
    const d = await enroll();
    const open = await connect(d.token);
    open.ws.send(Buffer.alloc(4096));
    expect((await within(open.closed)).code).toBe(1009);
  });
});
