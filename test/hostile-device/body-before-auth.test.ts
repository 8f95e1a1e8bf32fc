// Issue 14, case 5: bodies were buffered before authentication. The body limit read chunked bodies in full
// (up to 32 MiB on the site import) before the route's token check answered 401. Now the device token and
// the admin gate are checked before the body limit, and a refusal closes the connection, so a sender
// without a valid token gets its answer after a little of its body and the rest is never read.
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type HostileStack, hostileStack } from './support.ts';
import { chunkedPost as post, TOTAL } from './chunked-post.ts';

const influxUrl = inject('influxUrl');
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

const chunkedPost = (path: string, headers: Record<string, string>) => post(port, path, headers);

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
