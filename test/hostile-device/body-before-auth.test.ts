// Issue 14, case 5: bodies were buffered before authentication. The body limit read chunked bodies in full
// (up to 32 MiB on the site import) before the route's token check answered 401. Now the device token and
// the admin gate are checked before the body limit, and a refusal closes the connection, so a sender
// without a valid token gets its answer after a little of its body and the rest is never read.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type HostileStack, hostileStack } from './support.ts';

const influxUrl = inject('influxUrl');
const TOTAL = 30 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
let s: HostileStack;
let server: ServerType;
let port: number;
beforeAll(async () => {
  s = await hostileStack(influxUrl, 'hostile_body_auth');
  await new Promise<void>((resolve) => {
    server = serve({ fetch: s.tc.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await s?.tc.cleanup();
});

interface Outcome { status: number; head: string; sentBeforeAnswer: number; sentTotal: number; closedByServer: boolean }

/** Sends up to 30 MB chunked, a chunk at a time, and stops as soon as the server answers or closes. */
async function chunkedPost(path: string, headers: Record<string, string>): Promise<Outcome> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let answer = '';
  let sentBeforeAnswer = -1;
  let sent = 0;
  let closed = false;
  socket.on('data', (d: Buffer) => {
    if (sentBeforeAnswer < 0) sentBeforeAnswer = sent;
    answer += d.toString('latin1');
  });
  socket.on('error', () => { closed = true; });
  socket.on('close', () => { closed = true; });
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n${lines}\r\n`);
  for (let i = 0; sent < TOTAL && i < TOTAL / CHUNK.length + 1; i++) {
    if (closed || sentBeforeAnswer >= 0) break;
    const ok = socket.write(`${CHUNK.length.toString(16)}\r\n`) && socket.write(CHUNK) && socket.write('\r\n');
    sent += CHUNK.length;
    // Slowly: let the server run between chunks, and wait for the socket to drain when it pushes back.
    if (!ok) await Promise.race([new Promise((r) => socket.once('drain', r)), new Promise((r) => setTimeout(r, 2000))]);
    else await new Promise((r) => setImmediate(r));
  }
  // Bounded wait for the server to close the connection after its answer.
  for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
  const closedByServer = closed;
  socket.destroy();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
  return { status, head: answer.split('\r\n\r\n')[0] ?? '', sentBeforeAnswer, sentTotal: sent, closedByServer };
}

describe('bodies are not read before authentication', () => {
  it('refuses a chunked 30 MB measurement POST without a token after a little of its body, and closes', async () => {
    const out = await chunkedPost('/api/v1/measurements', { 'content-type': 'application/json' });
    // Before the fix: the body limit read the first MiB and answered 413; the token was never checked.
    expect(out.status).toBe(401);
    expect(out.sentBeforeAnswer).toBeGreaterThanOrEqual(0);
    expect(out.sentTotal).toBeLessThan(TOTAL / 4);
    expect(out.closedByServer).toBe(true);
  });

  it('refuses a chunked 30 MB site import with a wrong admin token before reading it (it took 32 MiB before)', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const out = await chunkedPost('/api/v1/admin/sites/import', { 'content-type': 'text/csv', authorization: 'Bearer not-the-admin-token' });
    expect(out.status).toBe(401);
    expect(out.sentTotal).toBeLessThan(TOTAL / 4);
    expect(out.closedByServer).toBe(true);
    // The server (in this process) did not hold the body: far less than 30 MB more buffer memory.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(TOTAL / 2);
  });

  it('refuses a device token on the admin import with 403, also before the body', async () => {
    const out = await chunkedPost('/api/v1/admin/sites/import', { 'content-type': 'text/csv', ...s.tc.auth() });
    expect(out.status).toBe(403);
    expect(out.sentTotal).toBeLessThan(TOTAL / 4);
  });

  it('still takes a chunked batch from an enrolled device', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/measurements`, {
      method: 'POST', headers: s.tc.auth(), duplex: 'half',
      body: new Blob([JSON.stringify({ results: [] })]).stream(),
    } as RequestInit);
    expect(res.status).not.toBe(401);
    expect(res.status).not.toBe(413);
  });
});
