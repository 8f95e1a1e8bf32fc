// Issue 14, case 7: one enrolled device held every throughput slot. 32 HTTP uploads from one device, each
// trickling a byte now and then, took all 32 streams and another site's device was refused; nothing made a
// connection that moved (almost) nothing give its slot back before the 30 s hard limit, and the site lease
// was only advisory. Now slots are budgeted per device, the site's lease is taken at admission, and a
// transfer floor (minimum rate, idle timeout) drops a connection that holds a slot without moving bytes.
// Everything runs against the real collector (startCollector) on real sockets; the limits are shortened.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { API_PREFIX, HealthResponse } from '../../protocol/api.ts';
import type { CollectorConfig } from '../../collector/config.ts';
import { createLogger } from '../../collector/logger.ts';
import { Registry } from '../../collector/registry/registry.ts';
import { type RunningCollector, startCollector } from '../../collector/server.ts';
import { NDT7_SUBPROTOCOL } from '../../collector/throughput/ndt7-server.ts';
import { uniqueTestDb } from '../support/influx-query.ts';
import { strongToken } from '../support/secrets.ts';

const PER_DEVICE = 4;
let dataDir: string;
let collector: RunningCollector;
/** Tokens: the hostile device and its honest sibling at site A, an honest device at site B. */
const t = { hostile: '', sibling: '', other: '' };
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-slot-hogging-'));
  const registry = await Registry.open(dataDir);
  await registry.addSite({ code: 'HOG-A', name: 'site of the hostile device' });
  await registry.addSite({ code: 'HOG-B', name: 'another site' });
  const codeA = (await registry.createEnrollmentCode('HOG-A', { uses: 2 })).code;
  t.hostile = (await registry.enroll(codeA, { hostname: 'HOSTILE' })).token;
  t.sibling = (await registry.enroll(codeA, { hostname: 'SIBLING' })).token;
  t.other = (await registry.enroll((await registry.createEnrollmentCode('HOG-B')).code, { hostname: 'OTHER' })).token;
  await registry.close();
  const config: CollectorConfig = {
    host: '127.0.0.1', port: 0, dataDir, adminToken: strongToken(), testTokenKey: strongToken(), logLevel: 'silent', workers: 1,
    influx: { url: inject('influxUrl'), database: uniqueTestDb('slot_hogging'), timeoutMs: 5000, rollups: false },
    throughput: { httpMaxStreams: 32, ndt7MaxConcurrent: 2, httpStreamsPerDevice: PER_DEVICE, attemptBurst: 60, attemptsPerMinute: 60, queueWaitMs: 300, minBytesPerSecond: 2048, rateWindowMs: 1500, idleTimeoutMs: 1500 },
  };
  collector = await startCollector(config, { logger: createLogger('silent') });
});
afterAll(async () => {
  for (const c of cleanups) c();
  await collector?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function health() {
  return HealthResponse.parse(await (await fetch(`${collector.url}/healthz`)).json()).throughput!;
}

/** Polls until `check` holds (bounded), returning the last health figures. */
async function until(check: (h: Awaited<ReturnType<typeof health>>) => boolean, ms: number): Promise<Awaited<ReturnType<typeof health>>> {
  const deadline = Date.now() + ms;
  let h = await health();
  for (let i = 0; i < 200 && !check(h) && Date.now() < deadline; i++) {
    await new Promise((r) => setTimeout(r, 100));
    h = await health();
  }
  return h;
}

/** A raw HTTP upload: chunked body, one byte every `everyMs` (a trickle), or 64 KiB chunks (honest). */
function upload(token: string, mode: 'trickle' | 'honest') {
  const socket = net.connect(collector.port, '127.0.0.1');
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (d) => (text += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const status = new Promise<number>((resolve) => {
    const onData = () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) (socket.off('data', onData), resolve(Number(m[1])));
    };
    socket.on('data', onData);
    void closed.then(() => resolve(0));
  });
  socket.write(`POST ${API_PREFIX}/throughput/upload HTTP/1.1\r\nHost: collector\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
  const chunk = mode === 'trickle' ? 'x' : 'y'.repeat(64 * 1024);
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
  }, mode === 'trickle' ? 300 : 20);
  const stop = () => (clearInterval(timer), socket.destroy());
  cleanups.push(stop);
  void closed.then(() => clearInterval(timer));
  return { status, closed, text: () => text, stop, end: () => (clearInterval(timer), socket.write('0\r\n\r\n')) };
}

/** An ndt7 WebSocket: the open socket, or the HTTP status of the refused upgrade. */
function ndt7(test: 'download' | 'upload', token: string): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${collector.url.replace('http', 'ws')}/ndt/v7/${test}`, [NDT7_SUBPROTOCOL], { headers: { authorization: `Bearer ${token}` } });
    cleanups.push(() => ws.terminate());
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => (res.resume(), resolve(res.statusCode ?? 0)));
    ws.on('open', () => resolve(ws));
  });
}

/** A one-byte HTTP download: its status and, when refused, the error message. */
async function tinyDownload(token: string): Promise<{ status: number; message?: string }> {
  const res = await fetch(`${collector.url}${API_PREFIX}/throughput/download?bytes=1`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return res.status === 200 ? { status: 200 } : { status: res.status, message: (JSON.parse(text) as { error: { message: string } }).error.message };
}

describe('one enrolled device trying to hold every throughput slot', () => {
  it('32 trickling HTTP uploads from one device: it gets its own budget of slots, loses them under the rate floor, and another site still tests', async () => {
    const hog = Array.from({ length: 32 }, () => upload(t.hostile, 'trickle'));
    const statuses = await Promise.all(hog.map((u) => u.status));
    // Before: 32 × 200 (every stream of the server). Now: the device's budget, the rest 429.
    expect(statuses.filter((s) => s === 200)).toHaveLength(PER_DEVICE);
    expect(statuses.filter((s) => s === 429)).toHaveLength(32 - PER_DEVICE);
    expect(hog.find((u) => u.text().includes(' 429 '))!.text()).toContain('one test at a time per device');

    // Another site's device tests at once, while the hostile device still holds its slots.
    const honest = upload(t.other, 'honest');
    expect(await honest.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    honest.end();
    await honest.closed;
    expect(honest.text()).toContain('"reason":"done"');

    // The trickles move ~3 bytes/s, under the 2048 bytes/s floor: each is dropped and told why.
    const admitted = hog.filter((_u, i) => statuses[i] === 200);
    await Promise.all(admitted.map((u) => Promise.race([u.closed, new Promise((r) => setTimeout(r, 8_000))])));
    for (const u of admitted) expect(u.text()).toContain('"reason":"too_slow"');
    const h = await until((x) => x.http.running === 0, 3_000);
    expect(h.http.running).toBe(0);
    expect(h.budget).toMatchObject({ httpStreamsPerDevice: PER_DEVICE, minBytesPerSecond: 2048 });
    expect(h.budget!.refusedDeviceBusy).toBeGreaterThanOrEqual(32 - PER_DEVICE);
    expect(h.budget!.droppedTooSlow).toBeGreaterThanOrEqual(PER_DEVICE);
    for (const u of hog) u.stop();
  });

  it('an ndt7 download whose client stops reading (stall) is dropped as idle and its slot freed', async () => {
    const ws = await ndt7('download', t.hostile);
    expect(ws).toBeInstanceOf(WebSocket);
    const before = (await health()).budget!.droppedIdle;
    // Stop reading: the kernel buffers fill, then nothing moves.
    (ws as unknown as { _socket: net.Socket })._socket.pause();
    // A second test of the same device at once is refused: one test at a time per device.
    expect(await ndt7('upload', t.hostile)).toBe(429);
    // Without the idle timeout the slot would be held until the hard limit (15 s, then 2 s more).
    const h = await until((x) => x.ndt7.running === 0, 8_000);
    expect(h.ndt7.running).toBe(0);
    expect(h.budget!.droppedIdle).toBeGreaterThan(before);
    (ws as WebSocket).terminate();
  });

  it('an ndt7 upload trickling small messages is closed with 1008 and the reason', async () => {
    const ws = (await ndt7('upload', t.hostile)) as WebSocket;
    expect(ws).toBeInstanceOf(WebSocket);
    const timer = setInterval(() => ws.readyState === ws.OPEN && ws.send(Buffer.alloc(10)), 100);
    const [code, reason] = await new Promise<[number, string]>((resolve) => ws.once('close', (c, r) => resolve([c, r.toString()])));
    clearInterval(timer);
    expect(code).toBe(1008);
    expect(reason).toContain('too slow');
    expect((await until((x) => x.ndt7.running === 0, 3_000)).ndt7.running).toBe(0);
  });

  it('the site lease is taken at admission: a second device of the site waits, another site does not, and a closed socket frees both at once', async () => {
    const sibling = (await ndt7('upload', t.sibling)) as WebSocket;
    expect(sibling).toBeInstanceOf(WebSocket);
    const feed = setInterval(() => sibling.readyState === sibling.OPEN && sibling.send(Buffer.alloc(64 * 1024)), 20);
    cleanups.push(() => clearInterval(feed));
    // The hostile device never asked for the site lease; admission checks it anyway (before any byte flows).
    expect(await ndt7('download', t.hostile)).toBe(503);
    expect((await health()).budget!.refusedSiteBusy).toBeGreaterThanOrEqual(1);
    const other = await ndt7('download', t.other);
    expect(other).toBeInstanceOf(WebSocket);
    (other as WebSocket).terminate();
    // The sibling's socket closes: its slot and the lease admission took for it are given back at once.
    clearInterval(feed);
    sibling.terminate();
    await until((x) => x.ndt7.running === 0, 3_000);
    const next = await ndt7('download', t.hostile);
    expect(next).toBeInstanceOf(WebSocket);
    (next as WebSocket).terminate();
  });

  it('a device opening test connections in a loop is refused in memory past its attempt budget; another device is not', async () => {
    const before = (await health()).budget!.refusedTooManyAttempts;
    const answers: { status: number; message?: string }[] = [];
    // Each download moves one byte and ends, so the per-device slot budget never stops the loop: only the attempt budget does.
    for (let i = 0; i < 80; i++) answers.push(await tinyDownload(t.hostile));
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.message).toContain('test connections at once');
    expect((await health()).budget!.refusedTooManyAttempts - before).toBe(refused.length);
    expect(await tinyDownload(t.other)).toEqual({ status: 200 });
  });
});
