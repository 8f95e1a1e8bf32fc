// The ndt7 server and the throughput admission, on loopback with a real registry and real sockets.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Registry } from '../registry/registry.ts';
import type { ThroughputService } from './service.ts';
import { startThroughputTestServer, type ThroughputTestServer } from './service.test-support.ts';
import { downloadLimit, NDT7_SUBPROTOCOL, parseMetadata } from './ndt7-server.ts';

let fixture: ThroughputTestServer;
let service: ThroughputService;
let registry: Registry;
let base: string;
let token: string;
let otherSiteToken: string;

beforeAll(async () => {
  fixture = await startThroughputTestServer({
    scheme: 'ws',
    limits: { ndt7MaxConcurrent: 1, queueWaitMs: 300 },
    seed: async (registry) => {
      await registry.addSite({ code: 'NDT-1', name: 'ndt7 site' });
      token = (await registry.enroll((await registry.createEnrollmentCode('NDT-1', { uses: 2 })).code)).token;
      await registry.addSite({ code: 'NDT-2', name: 'another ndt7 site' });
      otherSiteToken = (await registry.enroll((await registry.createEnrollmentCode('NDT-2')).code)).token;
    },
  });
  ({ service, base, registry } = fixture);
});
afterAll(async () => {
  await fixture?.close();
});

/** What a socket received, counted from before it opened (the server sends at once). */
const received = new WeakMap<WebSocket, { bytes: number; texts: Record<string, unknown>[] }>();

/** Opens an ndt7 socket; resolves with the HTTP status of a refused upgrade, or the open socket. */
function open(path: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base}${path}`, opts.protocols ?? [NDT7_SUBPROTOCOL], { headers: opts.headers ?? {} });
    const got = { bytes: 0, texts: [] as Record<string, unknown>[] };
    received.set(ws, got);
    ws.on('message', (data, isBinary) => (isBinary ? (got.bytes += (data as Buffer).length) : got.texts.push(JSON.parse(data.toString()))));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(ws));
    ws.on('error', () => {});
  });
}

describe('ndt7 server', () => {
  it('refuses an upgrade without the ndt7 subprotocol (400) or without a credential (401)', async () => {
    expect(await open('/ndt/v7/download', { protocols: ['chat'], headers: { authorization: `Bearer ${token}` } })).toBe(400);
    expect(await open('/ndt/v7/download')).toBe(401);
    expect(await open('/ndt/v7/download?access_token=not-a-token')).toBe(401);
  });

  it('serves a download to a browser-style client with a test token in the query, and stops at max_bytes', async () => {
    const { token: testToken } = service.tokens.issue({ deviceId: 'dev_x', siteCode: 'NDT-1' });
    const ws = await open(`/ndt/v7/download?client_name=test&max_bytes=100000&access_token=${encodeURIComponent(testToken)}`);
    expect(ws).toBeInstanceOf(WebSocket);
    const socket = ws as WebSocket;
    expect(socket.protocol).toBe(NDT7_SUBPROTOCOL);
    const [code] = (await once(socket, 'close')) as [number];
    const { bytes, texts } = received.get(socket)!;
    expect(code).toBe(1000);
    expect(bytes).toBe(100_000);
    expect(texts[0]).toMatchObject({ Origin: 'server', Test: 'download', ConnectionInfo: { UUID: expect.any(String) }, AppInfo: { NumBytes: expect.any(Number) } });
    expect(texts.at(-1)).toMatchObject({ AppInfo: { NumBytes: 100_000 } });
  });

  it('refuses a test beyond the concurrency cap after a short queue (503 with Retry-After)', async () => {
    const first = (await open('/ndt/v7/upload', { headers: { authorization: `Bearer ${token}` } })) as WebSocket;
    expect(first).toBeInstanceOf(WebSocket);
    expect(await open('/ndt/v7/upload', { headers: { authorization: `Bearer ${otherSiteToken}` } })).toBe(503);
    expect((await service.stats.health()).ndt7).toMatchObject({ running: 1, refused: 1 });
    first.close();
    await once(first, 'close');
  });

  it('reads metadata as the spec says: no server_ keys, first of a repeated key, at most 4096 bytes', async () => {
    const url = new URL('http://x/ndt/v7/download?client_name=a&server_x=1&client_name=b&access_token=t');
    expect(parseMetadata(url, url.search.slice(1))).toEqual({ client_name: 'a' });
    expect(parseMetadata(url, 'x'.repeat(4097))).toBeUndefined();
    expect(downloadLimit({ early_exit: '250', max_bytes: '1000000' })).toBe(1_000_000);
    expect(downloadLimit({ early_exit: '250' })).toBe(250e6);
  });
});

describe('revocation', () => {
  it('closes an open test with 4401 when its device is revoked', async () => {
    const code = (await registry.createEnrollmentCode('NDT-1', { uses: 1 })).code;
    const { deviceId, token: other } = await registry.enroll(code);
    const ws = (await open('/ndt/v7/upload', { headers: { authorization: `Bearer ${other}` } })) as WebSocket;
    expect(ws).toBeInstanceOf(WebSocket);
    await registry.revokeDevice(deviceId);
    const [closeCode] = (await once(ws, 'close')) as [number];
    expect(closeCode).toBe(4401);
  });
});

describe('site lease', () => {
  it('grants one device of a site at a time and says how long to wait', async () => {
    const a = await service.store.acquireLease('S1', 'dev_a', 60_000);
    expect(a.granted).toBe(true);
    const b = await service.store.acquireLease('S1', 'dev_b', 60_000);
    expect(b).toMatchObject({ granted: false, heldBy: 'dev_a' });
    if (a.granted) await service.store.releaseLease('S1', a.leaseId);
    expect((await service.store.acquireLease('S1', 'dev_b', 60_000)).granted).toBe(true);
  });
});
