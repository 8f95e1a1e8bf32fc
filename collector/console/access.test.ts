// Console access, driven with app.request() against the real app and the real InfluxDB: sign-in with either
// token, the cookie's flags, CSRF on every change, the reporting token refused on every change route (found
// by walking the app's own route table, so a new route cannot forget the check), the shared failure limit.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Hono } from 'hono';
import { createApp } from '../app.ts';
import { createDb, uniqueTestDb } from '../../test/support/influx-query.ts';
import { createTestCollector, type TestCollector } from '../../test/support/collector-app.ts';
import { consoleRoutes } from './routes.tsx';
import { createLogger } from '../logger.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import { SessionKeys } from './session.ts';
import { strongToken } from '../../test/support/secrets.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('console_access');
const ADMIN = strongToken();
const REPORT = strongToken();
let tc: TestCollector;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  await createDb(influxUrl, db);
  tc = await createTestCollector({ influxUrl, db });
  app = createApp({
    registry: tc.registry, writer: tc.writer, logger: createLogger('silent'), version: '0.0.0-test', adminToken: ADMIN,
    console: { settings: { sessionHours: 1 } }, limits: { authFailures: { burst: 3, perSecond: 0.001 } },
  });
});
afterAll(() => tc.cleanup());

async function signIn(token: string, headers: Record<string, string> = {}) {
  const res = await app.request('/console/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ token }).toString() });
  return res;
}
const cookieOf = (res: Response) => res.headers.get('set-cookie')?.split(';')[0] ?? '';
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

describe('console sign-in', () => {
  it('sends a signed-out browser to the sign-in page, in Vietnamese by default', async () => {
    const res = await app.request('/console/sites');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/login?back=%2Fconsole%2Fsites');
    const page = await (await app.request('/console/login')).text();
    expect(page).toContain('Đăng nhập');
    expect(page).toContain('lang="vi"');
  });

  it('sets an HttpOnly, SameSite=Strict, expiring cookie scoped to /console; Secure only behind TLS', async () => {
    const res = await signIn(ADMIN);
    expect(res.status).toBe(303);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^songcheck_console=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/console/);
    expect(cookie).toMatch(/Max-Age=3600/);
    expect(cookie).not.toMatch(/Secure/i);
    const tls = await app.request('https://console.example/console/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=' + ADMIN });
    expect(tls.headers.get('set-cookie')).toMatch(/; Secure/i);
  });

  it('shows the pages to a signed-in admin, with a CSRF token in every change form', async () => {
    const cookie = cookieOf(await signIn(ADMIN));
    for (const path of ['/console', '/console/sites', `/console/sites/${(await tc.registry.listSites())[0]!.code}`, '/console/import', '/console/enrollment', '/console/devices', '/console/alerts', '/console/reports']) {
      const res = await app.request(path, { headers: { cookie } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await res.text();
      expect(html).toContain('name="_csrf"');
    }
  });

  it('refuses a change without the CSRF token, or with another session’s, or sent cross-site', async () => {
    const cookie = cookieOf(await signIn(ADMIN));
    const other = await (await app.request('/console/devices', { headers: { cookie: cookieOf(await signIn(ADMIN)) } })).text();
    const form = { 'content-type': 'application/x-www-form-urlencoded', cookie };
    const device = (await tc.registry.listDevices())[0]!.id;
    expect((await app.request(`/console/devices/${device}/revoke`, { method: 'POST', headers: form, body: 'reason=x' })).status).toBe(403);
    expect((await app.request(`/console/devices/${device}/revoke`, { method: 'POST', headers: form, body: `reason=x&_csrf=${csrfOf(other)}` })).status).toBe(403);
    const mine = csrfOf(await (await app.request('/console/devices', { headers: { cookie } })).text());
    expect((await app.request(`/console/devices/${device}/revoke`, { method: 'POST', headers: { ...form, 'sec-fetch-site': 'cross-site' }, body: `reason=x&_csrf=${mine}` })).status).toBe(403);
    expect((await tc.registry.getDevice(device))?.revokedAt).toBeUndefined();
  });

  it('counts failed sign-ins in the same per-address budget as the admin API', async () => {
    // burst 3: three wrong tokens, then even the right one is answered 429 until the budget refills.
    for (let i = 0; i < 3; i++) expect((await signIn('wrong-token-xxxxxxxx', { 'x-forwarded-for': '203.0.113.9' })).status).toBe(401);
    expect((await signIn(ADMIN)).status).toBe(429);
  });
});

describe('the reporting token', () => {
  const limiter = new RateLimiter({ burst: 100, perSecond: 1 });
  let reportApp: Hono;
  beforeAll(async () => {
    reportApp = new Hono();
    reportApp.route('/console', consoleRoutes({ registry: tc.registry, writer: tc.writer, logger: createLogger('silent'), clock: Date.now, adminToken: ADMIN, reportToken: REPORT, failures: limiter, trustProxy: false, settings: { sessionHours: 1 } }));
  });

  it('reads every page but is offered no change, and every change route answers 403', async () => {
    const login = await reportApp.request('/console/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${REPORT}` });
    expect(login.status).toBe(303);
    const cookie = cookieOf(login);
    for (const path of ['/console', '/console/sites', '/console/import', '/console/enrollment', '/console/devices', '/console/alerts']) {
      const html = await (await reportApp.request(path, { headers: { cookie } })).text();
      // The only form that posts is sign-out.
      const actions = [...html.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]);
      expect(actions, path).toEqual(['/console/logout']);
    }
    const csrf = csrfOf(await (await reportApp.request('/console', { headers: { cookie } })).text());
    const changeRoutes = consoleRoutes({ registry: tc.registry, writer: tc.writer, logger: createLogger('silent'), clock: Date.now, adminToken: ADMIN, failures: limiter, trustProxy: false, settings: { sessionHours: 1 } })
      .routes.filter((r) => r.method === 'POST' && !['/login', '/logout'].includes(r.path));
    expect(changeRoutes.length).toBeGreaterThanOrEqual(9);
    const device = (await tc.registry.listDevices())[0]!.id;
    for (const r of changeRoutes) {
      const path = `/console${r.path.replace(':id', r.path.includes('devices') ? device : 'ec_0123456789abcdef')}`;
      const res = await reportApp.request(path, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${csrf}&reason=x&site=LC-001` });
      expect(res.status, path).toBe(403);
    }
    expect((await tc.registry.getDevice(device))?.revokedAt).toBeUndefined();
  });

  it('one-time sign-in links work once', async () => {
    const link = new SessionKeys(ADMIN).oneTimeLink('admin');
    const first = await reportApp.request(`/console/login/link?t=${link}`);
    expect(first.status).toBe(303);
    expect(first.headers.get('set-cookie')).toMatch(/songcheck_console=/);
    expect((await reportApp.request(`/console/login/link?t=${link}`)).status).toBe(401);
  });
});
