// The writer against the real InfluxDB (shared server, own database), plus a scripted HTTP server on
// loopback for the answers a healthy InfluxDB never gives (401, 429, 500, silence).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Point } from '@influxdata/influxdb-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/free-port.ts';
import { influxQuery, uniqueTestDb } from '../../test/support/influx-query.ts';
import type { InfluxConfig } from '../config.ts';
import { PermanentWriteError, RetryableWriteError } from './errors.ts';
import { createInfluxWriter } from './writer.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('collector_writer');
const t0 = Date.UTC(2025, 8, 1, 8);
const cfg = (over: Partial<InfluxConfig> = {}): InfluxConfig => ({ url: influxUrl, database: db, timeoutMs: 5000, ...over });
const point = (value: number | string, at: number) => new Point('m').tag('site', 'S1').floatField('v', 0).timestamp(new Date(at))[typeof value === 'number' ? 'floatField' : 'stringField']('x', value);

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('writer against the real InfluxDB', () => {
  const writer = createInfluxWriter(cfg());
  beforeAll(async () => {
    expect(await writer.ensureDatabase()).toEqual({ ok: true });
    expect(await writer.ensureDatabase()).toEqual({ ok: true }); // idempotent
  });

  it('writes with ms precision and reads back through query()', async () => {
    await writer.write([point(1.5, t0), point(2, t0 + 1)]);
    const rows = await influxQuery(influxUrl, db, 'SELECT x FROM m ORDER BY time');
    expect(rows.map((r) => [r.time, r.x])).toEqual([[t0, 1.5], [t0 + 1, 2]]);
    const own = await writer.query('SELECT count(x) FROM m');
    expect(own.results[0]!.series![0]!.values[0]![1]).toBe(2);
  });

  it('classifies a field type conflict as permanent, with InfluxDB\'s reason', async () => {
    const error = await caught(writer.write([point('text', t0 + 2)]));
    expect(error).toBeInstanceOf(PermanentWriteError);
    expect((error as PermanentWriteError).statusCode).toBe(400);
    expect((error as Error).message).toMatch(/field type conflict/);
  });

  it('treats a missing database as retryable: the collector is misconfigured, the data is fine', async () => {
    const error = await caught(createInfluxWriter(cfg({ database: uniqueTestDb('missing') })).write([point(1, t0)]));
    expect(error).toBeInstanceOf(RetryableWriteError);
    expect(error).toMatchObject({ statusCode: 404, misconfigured: true });
  });

  it('pings', async () => {
    expect(await writer.ping()).toMatchObject({ ok: true });
  });

  it('reports InfluxQL errors from query()', async () => {
    await expect(writer.query('SELECT FROM')).rejects.toThrow(/expected/);
  });
});

describe('writer when InfluxDB is unreachable', () => {
  it('write is retryable and ping says why', async () => {
    const writer = createInfluxWriter(cfg({ url: `http://127.0.0.1:${await freePort()}` }));
    const error = await caught(writer.write([point(1, t0)]));
    expect(error).toBeInstanceOf(RetryableWriteError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect(await writer.ping()).toMatchObject({ ok: false, error: expect.stringMatching(/ECONNREFUSED/) });
    expect((await writer.ensureDatabase()).ok).toBe(false);
  });
});

describe('writer against a scripted server', () => {
  let server: http.Server;
  let url: string;
  let next: { status: number; body?: string; hang?: boolean } = { status: 204 };
  const seen: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url!, headers: req.headers, body });
        if (next.hang) return; // never answer: the client's timeout must fire
        res.writeHead(next.status, { 'content-type': 'application/json' }).end(next.body ?? '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends line protocol to /write with db, ms precision, rp and Basic auth for 1.x users', async () => {
    next = { status: 204 };
    await createInfluxWriter(cfg({ url, database: 'sc', username: 'writer', password: 'pa:ss', retentionPolicy: 'one_year' })).write([point(1, t0)]);
    const req = seen.at(-1)!;
    expect(req.url).toBe('/write?db=sc&precision=ms&rp=one_year');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('writer:pa:ss').toString('base64')}`);
    expect(req.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(req.body).toBe(`m,site=S1 v=0,x=1 ${t0}`);
  });

  it('sends a 2.x/3.x token as "Authorization: Token"', async () => {
    next = { status: 204 };
    await createInfluxWriter(cfg({ url, token: 'tok123' })).write([point(1, t0)]);
    expect(seen.at(-1)!.headers.authorization).toBe('Token tok123');
  });

  it.each([
    [401, '{"error":"authorization failed"}', RetryableWriteError, true],
    [403, '{"code":"forbidden","message":"insufficient permissions"}', RetryableWriteError, true],
    [429, '', RetryableWriteError, false],
    [500, '{"error":"engine: cache-max-memory-size exceeded"}', RetryableWriteError, false],
    [503, '', RetryableWriteError, false],
    [400, '{"error":"unable to parse \'m x\': invalid field format"}', PermanentWriteError, undefined],
    [413, '{"error":"Request Entity Too Large"}', PermanentWriteError, undefined],
  ] as const)('classifies HTTP %i', async (status, body, kind, misconfigured) => {
    next = { status, body };
    const error = await caught(createInfluxWriter(cfg({ url })).write([point(1, t0)]));
    expect(error).toBeInstanceOf(kind);
    if (misconfigured !== undefined) expect((error as RetryableWriteError).misconfigured).toBe(misconfigured);
    if (body) expect((error as Error).message).toContain(JSON.parse(body).error ?? JSON.parse(body).message);
  });

  it('classifies a timeout as retryable', async () => {
    next = { status: 204, hang: true };
    const error = await caught(createInfluxWriter(cfg({ url, timeoutMs: 200 })).write([point(1, t0)]));
    expect(error).toBeInstanceOf(RetryableWriteError);
    expect((error as Error).message).toMatch(/timed out/i);
  });
});
