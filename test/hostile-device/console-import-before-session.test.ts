// Issue 14, follow-up of case 5: the console's CSV import (`POST /console/import`, up to 32 MiB) read its
// body before the session check, so anyone could make the collector read 32 MiB per request without
// signing in. Now the console checks the session, the role and, for the import paths, the CSRF token (in
// the form's URL) first, and applies the body limit after. A real socket streams 30 MB chunked; the refusal
// comes after a small part and the connection is closed. The real app on a loopback port.
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chunkedPost, TOTAL } from './chunked-post.ts';
import { type HostileStack, hostileStack } from './support.ts';
import { strongToken } from '../support/secrets.ts';

const influxUrl = inject('influxUrl');
let s: HostileStack;
let server: ServerType;
let base: string;
let port: number;

beforeAll(async () => {
  s = await hostileStack(influxUrl, 'hostile_console_import', { console: { settings: { sessionHours: 1 } } });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: s.tc.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await s?.tc.cleanup();
});

/** Signs in over the socket; the session cookie. */
async function signIn(token: string): Promise<string> {
  const res = await fetch(`${base}/console/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
  expect(res.status).toBe(303);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

/** The import form's action as the console renders it for this session (it carries the CSRF token). */
async function importAction(cookie: string): Promise<string> {
  const html = await (await fetch(`${base}/console/import`, { headers: { cookie } })).text();
  const action = /<form[^>]*action="([^"]+)"[^>]*id="import-form"/.exec(html)?.[1];
  expect(action).toMatch(/^\/console\/import\?_csrf=/);
  return action!.replace(/&amp;/g, '&');
}

const multipart = { 'content-type': 'multipart/form-data; boundary=x' };

describe('the console import does not read a body before the session', () => {
  it('streams 30 MB to /console/import without a session: 401 after a small part, connection closed', async () => {
    const out = await chunkedPost(port, '/console/import', multipart);
    // Before: the body limit read all 30 MB (under the import's 32 MiB cap), then the session check said 401.
    expect(out.status).toBe(401);
    expect(out.sentTotal).toBeLessThan(TOTAL / 4);
    expect(out.closedByServer).toBe(true);
  });

  it('refuses before the body a forged session cookie (401), and an admin session without the CSRF token in the URL (403)', async () => {
    const forged = await chunkedPost(port, '/console/import', { ...multipart, cookie: `songcheck_console=${strongToken()}.x` });
    expect(forged.status).toBe(401);
    expect(forged.sentTotal).toBeLessThan(TOTAL / 4);
    const admin = await signIn(s.tc.adminToken);
    const noCsrf = await chunkedPost(port, '/console/import', { ...multipart, cookie: admin });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.sentTotal).toBeLessThan(TOTAL / 4);
    const wrongCsrf = await chunkedPost(port, `/console/import?_csrf=${strongToken()}`, { ...multipart, cookie: admin });
    expect(wrongCsrf.status).toBe(403);
    expect(wrongCsrf.sentTotal).toBeLessThan(TOTAL / 4);
  });

  it('a signed-in admin still imports through the rendered form (CSRF token in its URL)', async () => {
    const cookie = await signIn(s.tc.adminToken);
    const action = await importAction(cookie);
    const body = new FormData();
    body.append('file', new Blob(['code,name\nLC-777,Điểm trường Thử\n'], { type: 'text/csv' }), 'sites.csv');
    const res = await fetch(`${base}${action}`, { method: 'POST', headers: { cookie }, body });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('LC-777');
  });
});
