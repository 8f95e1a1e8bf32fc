// Body caps before and after decompression, with the real InfluxDB behind the app: gzip accepted,
// oversized and compressed-bomb bodies answered 413 without being read whole, also on a real socket.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ErrorBody } from '../../protocol/api.ts';
import { createDb, influxQuery, uniqueTestDb } from '../../test/support/influx-query.ts';
import { MAX_BODY_BYTES } from '../app.ts';
import { createTestCollector, type TestCollector } from '../../test/support/collector-app.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('body_limit');
const NOW = Date.UTC(2025, 8, 1, 9);
let tc: TestCollector;

beforeAll(async () => {
  await createDb(influxUrl, db);
  tc = createTestCollector({ influxUrl, db, clock: () => NOW });
});
afterAll(() => tc.cleanup());

const tcp = (n: number) => ({
  id: `gz-${String(n).padStart(6, '0')}`,
  probe: 'tcp',
  target: 'songcheck.example.vn:443',
  measuredAt: NOW - 60_000 + n,
  code: 'ok',
  fields: { sent: 5, received: 5, loss_pct: 0, rtt_median_ms: 42 },
});

/** A body that counts how many bytes the server pulled from it. */
function countingStream(data: Uint8Array, chunk = 4096): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      controller.enqueue(data.subarray(offset, offset + chunk));
      offset += chunk;
    },
  }, { highWaterMark: 0 }); // nothing is pulled until the server reads
  return { stream, pulled: () => Math.min(offset, data.length) };
}

const post = (body: BodyInit, headers: Record<string, string>) =>
  tc.app.request('/api/v1/measurements', { method: 'POST', headers: tc.auth(headers), body, duplex: 'half' } as RequestInit);

async function errorCode(res: Response): Promise<string> {
  return ErrorBody.parse(await res.json()).error.code;
}

describe('gzip request bodies', () => {
  it('are inflated and stored like plain ones', async () => {
    const batch = { results: Array.from({ length: 200 }, (_, i) => tcp(i)) };
    const plain = Buffer.from(JSON.stringify(batch));
    const gz = zlib.gzipSync(plain);
    expect(gz.length * 5).toBeLessThan(plain.length); // what a metered link saves
    const res = await post(gz, { 'content-encoding': 'gzip', 'content-length': String(gz.length) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { stored: number }).stored).toBe(200);
    const rows = await influxQuery(influxUrl, db, `SELECT count(result_id) FROM latency WHERE result_id =~ /^gz-/`);
    expect(rows[0]!.count).toBe(200);
  });

  it('answer 413 for a compressed bomb after inflating just over the cap, without pulling the whole body', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in about 64 KB
    for (const headers of [{ 'content-length': String(bomb.length) }, {}] as Record<string, string>[]) {
      const body = countingStream(bomb);
      const res = await post(body.stream, { 'content-encoding': 'gzip', ...headers });
      expect(res.status).toBe(413);
      expect(await errorCode(res)).toBe('payload_too_large');
      // zlib's input buffer (16 KiB) and a chunk or two, of a 64 KB body: inflating stopped at the cap.
      expect(body.pulled()).toBeLessThanOrEqual(32 * 1024);
      expect(body.pulled()).toBeLessThan(bomb.length / 2);
    }
  });

  it('count the inflated size: a body under the cap compressed but over it inflated gets 413', async () => {
    const big = Buffer.from(JSON.stringify({ results: [{ padding: 'x'.repeat(MAX_BODY_BYTES) }] }));
    const gz = zlib.gzipSync(big);
    expect(gz.length).toBeLessThan(MAX_BODY_BYTES);
    const res = await post(gz, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(ErrorBody.parse(await res.json()).error.message).toMatch(/larger than 1 MiB \(after decompression\)/);
  });

  it('refuse a broken gzip stream with 400 and other encodings with 415', async () => {
    const broken = await post(Buffer.from('definitely not gzip'), { 'content-encoding': 'gzip' });
    expect(broken.status).toBe(400);
    expect(ErrorBody.parse(await broken.json()).error.message).toMatch(/^request body is not valid gzip/);
    for (const encoding of ['br', 'deflate', 'gzip, gzip']) {
      const res = await post(Buffer.from('{}'), { 'content-encoding': encoding });
      expect(res.status).toBe(415);
      expect(await errorCode(res)).toBe('unsupported_media_type');
    }
  });
});

describe('plain request bodies', () => {
  it('over the cap with Content-Length: 413 from the header alone, nothing pulled', async () => {
    const body = countingStream(Buffer.alloc(4 * MAX_BODY_BYTES, 0x20));
    const res = await post(body.stream, { 'content-length': String(4 * MAX_BODY_BYTES) });
    expect(res.status).toBe(413);
    expect(body.pulled()).toBe(0);
  });

  it('over the cap without Content-Length: 413 once the cap is passed, the rest never pulled', async () => {
    const data = Buffer.alloc(16 * MAX_BODY_BYTES, 0x20);
    const body = countingStream(data, 64 * 1024);
    const res = await post(body.stream, {});
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(MAX_BODY_BYTES + 2 * 64 * 1024);
  });

  it('a nonsense Content-Length is a 400', async () => {
    const res = await tc.app.request('/api/v1/measurements', { method: 'POST', headers: tc.auth({ 'content-length': 'lots' }), body: '{}' });
    expect(res.status).toBe(400);
  });
});

describe('on a real socket', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = await new Promise<http.Server>((resolve) => {
      const s = serve({ fetch: tc.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s as http.Server)) as http.Server;
    });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  /** Sends the head and part of a body, then waits for the status line: the server answers before the rest exists. */
  function partialRequest(headers: Record<string, string>, firstPart: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('no answer within 10 s'));
      }, 10_000);
      let answer = '';
      socket.on('data', (d) => {
        answer += d.toString('latin1');
        if (answer.includes('\r\n\r\n')) {
          clearTimeout(timer);
          socket.destroy();
          resolve(answer.split('\r\n')[0]!);
        }
      });
      socket.on('error', reject);
      const head = Object.entries({ host: `127.0.0.1:${port}`, authorization: `Bearer ${tc.token}`, 'content-type': 'application/json', ...headers })
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      socket.write(`POST /api/v1/measurements HTTP/1.1\r\n${head}\r\n\r\n`);
      socket.write(firstPart);
    });
  }

  it('answers 413 to a declared 1 GiB body after 64 KiB of it', async () => {
    expect(await partialRequest({ 'content-length': String(1024 ** 3) }, Buffer.alloc(64 * 1024, 0x20))).toBe('HTTP/1.1 413 Payload Too Large');
  });

  it('answers 413 to a compressed bomb before the client has sent all of it', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(128 * 1024 * 1024));
    const part = bomb.subarray(0, Math.floor(bomb.length / 4));
    expect(await partialRequest({ 'content-length': String(bomb.length), 'content-encoding': 'gzip' }, part)).toBe('HTTP/1.1 413 Payload Too Large');
  });
});
