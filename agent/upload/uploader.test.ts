import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Result } from '../../protocol/results.ts';
import { DurableQueue } from '../queue/durable-queue.ts';
import { Uploader, parseRetryAfter } from './uploader.ts';

type Handler = (body: { results: Result[] }, req: IncomingMessage, res: ServerResponse) => void;

let dir: string;
let queue: DurableQueue<Result>;
let server: ReturnType<typeof createServer>;
let url: string;
let handler: Handler;
let requests = 0;

function result(i: number): Result {
  return { id: randomUUID(), probe: 'tcp', target: '127.0.0.1:1', measuredAt: Date.UTC(2026, 10, 24, 3, 0, i), code: 'ok', fields: { sent: 1, received: 1, loss_pct: 0, rtt_median_ms: i } };
}

function ackAll(res: ServerResponse, results: Result[], status: (i: number) => 'stored' | 'rejected' = () => 'stored') {
  const acks = results.map((r, index) => ({ index, id: r.id, status: status(index), ...(status(index) === 'rejected' ? { reason: 'bad' } : {}) }));
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ stored: acks.filter((a) => a.status === 'stored').length, rejected: acks.filter((a) => a.status === 'rejected').length, results: acks }));
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'songcheck-upl-'));
  queue = DurableQueue.open<Result>({ dir, maxBytes: 1 << 20 });
  requests = 0;
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      requests++;
      handler(JSON.parse(raw), req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterEach(async () => {
  queue.close();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const uploader = (extra: Partial<ConstructorParameters<typeof Uploader>[1]> = {}) =>
  new Uploader(queue, { collectorUrl: url, token: 'tok-abcdefghijklmnop', agentVersion: 't', batchSize: 3, intervalMs: 10, timeoutMs: 2_000, backoffInitialMs: 100, backoffMaxMs: 1_000, ...extra });

describe('uploader', () => {
  it('delivers in batches with the device token and deletes what was acknowledged', async () => {
    for (let i = 0; i < 7; i++) queue.append(result(i));
    const seenAuth: string[] = [];
    handler = (body, req, res) => {
      seenAuth.push(String(req.headers.authorization));
      ackAll(res, body.results);
    };
    const u = uploader();
    expect(await u.drain(new AbortController().signal)).toBeUndefined();
    expect(requests).toBe(3);
    expect(seenAuth.every((a) => a === 'Bearer tok-abcdefghijklmnop')).toBe(true);
    expect(queue.stats().depth).toBe(0);
    expect(u.stats.stored).toBe(7);
  });

  it('keeps everything on 503 and reports the Retry-After', async () => {
    for (let i = 0; i < 2; i++) queue.append(result(i));
    handler = (_b, _q, res) => {
      res.writeHead(503, { 'retry-after': '30' });
      res.end('{"error":{"code":"influx_unavailable","message":"x"}}');
    };
    const u = uploader();
    const failure = await u.drain(new AbortController().signal);
    expect(failure).toMatchObject({ kind: 'retryable', retryAfterMs: 30_000 });
    expect(queue.stats().depth).toBe(2);
    expect(u.backoffMs(failure!)).toBe(1_000); // Retry-After capped at backoffMax
  });

  it('keeps everything when the collector is unreachable', async () => {
    queue.append(result(1));
    await new Promise((r) => server.close(r));
    const failure = await uploader().drain(new AbortController().signal);
    expect(failure?.kind).toBe('retryable');
    expect(failure?.message).toMatch(/unreachable/);
    expect(queue.stats().depth).toBe(1);
    server = createServer(); // afterEach closes it
  });

  it('keeps everything when the token is refused, and waits the longest backoff', async () => {
    queue.append(result(1));
    handler = (_b, _q, res) => {
      res.writeHead(401);
      res.end();
    };
    const u = uploader({ random: () => 1 });
    const failure = await u.drain(new AbortController().signal);
    expect(failure?.kind).toBe('needs_operator');
    expect(queue.stats().depth).toBe(1);
    expect(u.backoffMs(failure!)).toBe(1_000);
  });

  it('does not delete when a 200 answer does not account for every result', async () => {
    queue.append(result(1));
    queue.append(result(2));
    handler = (body, _q, res) => ackAll(res, body.results.slice(0, 1));
    const failure = await uploader().drain(new AbortController().signal);
    expect(failure?.message).toMatch(/without an acknowledgement/);
    expect(queue.stats().depth).toBe(2);
  });

  it('deletes results the collector rejected, and counts them', async () => {
    for (let i = 0; i < 3; i++) queue.append(result(i));
    handler = (body, _q, res) => ackAll(res, body.results, (i) => (i === 1 ? 'rejected' : 'stored'));
    const u = uploader();
    await u.drain(new AbortController().signal);
    expect(u.stats).toMatchObject({ stored: 2, rejected: 1 });
    expect(queue.stats().depth).toBe(0);
  });

  it('halves the batch on 413 and finally drops only a single result that can never fit', async () => {
    const first = result(0);
    queue.append(first);
    for (let i = 1; i < 3; i++) queue.append(result(i));
    const sizes: number[] = [];
    handler = (body, _q, res) => {
      sizes.push(body.results.length);
      // Any batch of more than one is too large, and so is result 0 on its own.
      const tooLarge = body.results.length > 1 || body.results[0]!.id === first.id;
      if (tooLarge) {
        res.writeHead(413, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'payload_too_large', message: 'request body is larger than 1048576 bytes' } }));
        return;
      }
      ackAll(res, body.results);
    };
    const u = uploader();
    for (let i = 0; i < 5 && queue.stats().depth > 0; i++) await u.drain(new AbortController().signal);
    expect(sizes.slice(0, 3)).toEqual([3, 1, 1]);
    expect(queue.stats().depth).toBe(0);
    expect(u.stats).toMatchObject({ stored: 2, rejected: 1 });
  });

  it('keeps a single result that a proxy (not the collector) refused as too large', async () => {
    queue.append(result(1));
    handler = (_b, _q, res) => {
      res.writeHead(413, { 'content-type': 'text/html' });
      res.end('<html>413 Request Entity Too Large</html>');
    };
    const failure = await uploader().drain(new AbortController().signal);
    expect(failure?.kind).toBe('needs_operator');
    expect(queue.stats().depth).toBe(1);
  });

  it('keeps the batch, and does not crash, when the acknowledgement cannot be written to disk', async () => {
    queue.append(result(1));
    handler = (body, _q, res) => ackAll(res, body.results);
    const failingDisk = { nextBatch: (n: number, b?: number) => ({ records: queue.nextBatch(n, b).records, ack: () => { throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }); } }) };
    const u = new Uploader(failingDisk, { collectorUrl: url, token: 'tok-abcdefghijklmnop', agentVersion: 't', batchSize: 3, intervalMs: 10, timeoutMs: 2_000, backoffInitialMs: 100, backoffMaxMs: 1_000 });
    const failure = await u.drain(new AbortController().signal);
    expect(failure).toMatchObject({ kind: 'retryable', message: expect.stringMatching(/could not record the acknowledgement/) });
    expect(queue.stats().depth).toBe(1);
  });

  it('keeps the batch when the collector refuses it for its signing (409), lets the key be registered, then sends it prepared', async () => {
    for (let i = 0; i < 2; i++) queue.append(result(i));
    let registered = false;
    const sent: unknown[][] = [];
    handler = (body, _req, res) => {
      sent.push(body.results);
      if (!registered) {
        res.writeHead(409, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'signing_key_unknown', message: 'register the key' } }));
      } else ackAll(res, body.results);
    };
    const refusals: string[] = [];
    const u = uploader({
      prepare: (records) => records.map((r) => (registered ? { signed: r.id } : r)),
      onSigningRefused: async (code) => {
        refusals.push(code);
        registered = true;
      },
    });
    expect(await u.drain(new AbortController().signal)).toMatchObject({ kind: 'retryable', message: expect.stringMatching(/signing_key_unknown/) });
    expect(refusals).toEqual(['signing_key_unknown']);
    expect(queue.stats().depth).toBe(2);
    expect(await u.drain(new AbortController().signal)).toBeUndefined();
    expect(queue.stats().depth).toBe(0);
    expect(sent[1]).toEqual([expect.objectContaining({ signed: expect.any(String) }), expect.objectContaining({ signed: expect.any(String) })]);
  });

  it('backs off exponentially with jitter, capped', () => {
    const u = uploader({ random: () => 0, backoffInitialMs: 100, backoffMaxMs: 1_000 });
    const f = { kind: 'retryable' as const, message: 'x' };
    const waits = [1, 2, 3, 4, 5, 6].map((n) => {
      u.stats.consecutiveFailures = n;
      return u.backoffMs(f);
    });
    expect(waits).toEqual([50, 100, 200, 400, 500, 500]);
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseRetryAfter('12', now)).toBe(12_000);
    expect(parseRetryAfter(new Date(now + 5_000).toUTCString(), now)).toBe(5_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
