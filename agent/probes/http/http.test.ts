import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCommand } from '../../../scripts/system-deps.ts';
import { Result } from '../../../protocol/results.ts';
import { closedPort, ctxWith, PINNED_NOW } from '../../../test/support/agent-probes.ts';
import { HttpOptions } from '../../../protocol/probe-options/http.ts';
import { httpProbe } from './index.ts';

const opts = (o: Partial<HttpOptions> = {}) => HttpOptions.parse(o);

async function serve<S extends Server | HttpsServer>(server: S): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function stop(server: Server | HttpsServer | undefined): void {
  server?.closeAllConnections();
  server?.close();
}

describe('http probe', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok') res.end('hello');
      else if (req.url === '/ping') res.writeHead(204).end();
      else if (req.url === '/fail') res.writeHead(500).end('boom');
      else if (req.url === '/big') {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 'x');
        let sent = 0;
        // Bounded: 80 chunks (5 MiB) at most, far more than the probe is allowed to read.
        const pump = (): void => {
          while (sent < 80 && res.write(chunk)) sent++;
          if (sent >= 80) res.end();
          else res.once('drain', pump);
        };
        res.on('close', () => (sent = 80));
        pump();
      } else if (req.url === '/stall') {
        // accepts and never answers
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial', () => req.socket.destroy());
      }
    });
    base = `http://127.0.0.1:${await serve(server)}`;
  });
  afterAll(() => stop(server));

  it('times a 200 and counts the body', async () => {
    const r = await httpProbe.run(`${base}/ok`, opts(), ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r).toMatchObject({ probe: 'http', code: 'ok', measuredAt: PINNED_NOW });
    expect(r.fields).toMatchObject({ status: 200, bytes: 5 });
    const f = r.fields as Record<string, number>;
    for (const k of ['connect_ms', 'ttfb_ms', 'total_ms']) expect(f[k], k).toBeGreaterThanOrEqual(0);
    // An IP literal needs no lookup and plain http no handshake: those phases are absent, not 0.
    expect(f).not.toHaveProperty('dns_ms');
    expect(f).not.toHaveProperty('tls_ms');
    expect(f.total_ms).toBeGreaterThanOrEqual(f.ttfb_ms as number);
  });

  it('times the name lookup when the target is a name', async () => {
    const r = await httpProbe.run(`${base.replace('127.0.0.1', 'localhost')}/ok`, opts(), ctxWith());
    if (r.code === 'ok') expect(r.fields).toHaveProperty('dns_ms');
    else expect(r.code).toBe('refused'); // localhost resolved to ::1 first; the server is IPv4 only
  });

  it('reports http_error for a 500', async () => {
    const r = await httpProbe.run(`${base}/fail`, opts(), ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('http_error');
    expect(r.fields).toMatchObject({ status: 500, bytes: 4 });
    expect(r.detail).toBe('HTTP 500');
  });

  it('checks expectStatus', async () => {
    expect((await httpProbe.run(`${base}/ping`, opts({ expectStatus: 204 }), ctxWith())).code).toBe('ok');
    const r = await httpProbe.run(`${base}/ok`, opts({ expectStatus: 204 }), ctxWith());
    expect(r.code).toBe('http_error');
    expect(r.detail).toBe('expected HTTP 204, got 200');
  });

  it('stops reading at maxBytes', async () => {
    const r = await httpProbe.run(`${base}/big`, opts({ maxBytes: 100_000 }), ctxWith());
    expect(r.code).toBe('ok');
    const bytes = (r.fields as { bytes: number }).bytes;
    expect(bytes).toBeGreaterThanOrEqual(100_000);
    expect(bytes).toBeLessThan(80 * 64 * 1024);
    expect(r.detail).toMatch(/stopped reading/);
  });

  it('reports timeout when the server never answers', async () => {
    const r = await httpProbe.run(`${base}/stall`, opts({ timeoutMs: 300 }), ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('timeout');
    expect(r.fields).toHaveProperty('connect_ms');
    expect(r.fields).not.toHaveProperty('status');
  });

  it('reports reset when the connection drops mid-body', async () => {
    const r = await httpProbe.run(`${base}/cut`, opts(), ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('reset');
    expect(r.fields).toMatchObject({ status: 200 });
  });

  it('reports refused against a closed port', async () => {
    const r = await httpProbe.run(`http://127.0.0.1:${await closedPort()}/`, opts(), ctxWith());
    expect(r.code).toBe('refused');
    expect(Result.safeParse(r).success).toBe(true);
  });

  it('returns promptly with the abort code when the run is stopped', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new DOMException('limit', 'TimeoutError')), 100);
    const r = await httpProbe.run(`${base}/stall`, opts(), ctxWith(ac.signal));
    expect(r.code).toBe('timeout');
    expect(r.detail).toBe('aborted');
  });

  it('refuses targets that are not http(s) URLs', async () => {
    expect((await httpProbe.run('ftp://example.org/', opts(), ctxWith())).code).toBe('error');
    expect((await httpProbe.run('not a url', opts(), ctxWith())).code).toBe('error');
  });

  it('targets the collector ping endpoint by default', () => {
    expect(httpProbe.defaultTargets({ collectorUrl: 'https://songcheck.laocai.edu.vn/' })).toEqual([
      'https://songcheck.laocai.edu.vn/api/v1/ping',
    ]);
    expect(httpProbe.defaultTargets({})).toEqual([]);
  });
});

await ensureCommand('openssl', 'openssl');

describe('http probe over TLS (self-signed certificate made with openssl)', () => {
  let dir: string;
  let server: HttpsServer;
  let base: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'songcheck-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) =>
      res.writeHead(204).end(),
    );
    base = `https://127.0.0.1:${await serve(server)}`;
  });
  afterAll(() => {
    stop(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports tls_error for a certificate nobody vouches for', async () => {
    const r = await httpProbe.run(`${base}/api/v1/ping`, opts(), ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('tls_error');
    expect(r.detail).toMatch(/self.signed/i);
    expect(r.fields).toHaveProperty('connect_ms');
    expect(r.fields).not.toHaveProperty('tls_ms');
  });

  it('times the handshake when the certificate is trusted through caFile', async () => {
    const r = await httpProbe.run(`${base}/api/v1/ping`, opts({ caFile: join(dir, 'cert.pem'), expectStatus: 204 }), ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('ok');
    expect(r.fields).toMatchObject({ status: 204, bytes: 0 });
    expect(r.fields).toHaveProperty('tls_ms');
  });

  it('reports a missing caFile as an error result', async () => {
    const r = await httpProbe.run(`${base}/`, opts({ caFile: join(dir, 'nope.pem') }), ctxWith());
    expect(r.code).toBe('error');
    expect(r.detail).toMatch(/caFile/);
  });
});
