import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../http/env.ts';
import { createAdminGate } from './admin-gate.ts';
import { strongToken } from '../../test/support/secrets.ts';

const ADMIN = strongToken();
const REPORT = strongToken();
const DEVICE = 'device-token-0123456789';

function rig() {
  let now = 1_000_000;
  const gate = createAdminGate({
    adminToken: ADMIN, reportToken: REPORT, limits: { burst: 3, perSecond: 1 / 60 }, clock: () => now, trustProxy: false,
    registry: { authenticateDevice: async (t) => (t === DEVICE ? ({} as never) : null) },
  });
  const app = new Hono<AppEnv>();
  app.use('/admin/*', gate.admin);
  app.get('/admin/sites', (c) => c.json({ admin: c.get('admin') }));
  app.get('/admin/alerts', (c) => c.json({ admin: c.get('admin') }));
  app.get('/verdicts', gate.reader, (c) => c.json({ ok: true }));
  app.post('/verdicts/run', gate.admin, (c) => c.json({ ok: true }));
  const call = (path: string, token?: string, method = 'GET') =>
    app.request(path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { gate, call, advance: (ms: number) => (now += ms) };
}

describe('admin gate', () => {
  it('lets the admin token everywhere and the reporting token only read', async () => {
    const { call } = rig();
    expect(await (await call('/admin/sites', ADMIN)).json()).toEqual({ admin: true });
    expect((await call('/verdicts', ADMIN)).status).toBe(200);
    expect((await call('/verdicts', REPORT)).status).toBe(200);
    const readOnly = await call('/verdicts/run', REPORT, 'POST');
    expect(readOnly.status).toBe(403);
    expect(await readOnly.text()).toMatch(/read-only/);
    expect((await call('/admin/sites', DEVICE)).status).toBe(403);
    const missing = await call('/admin/sites');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="songcheck-admin"');
    expect((await call('/verdicts')).headers.get('www-authenticate')).toBe('Bearer realm="songcheck-reports"');
  });

  it('gives a guesser one failure budget across every prefix, then 429 even for the right token', async () => {
    const { call, gate, advance } = rig();
    expect((await call('/admin/sites', 'guess-1')).status).toBe(401);
    expect((await call('/admin/alerts', 'guess-2')).status).toBe(401);
    expect((await call('/verdicts', 'guess-3')).status).toBe(401);
    const limited = await call('/verdicts', REPORT);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call('/admin/sites', ADMIN)).status).toBe(429);
    // The console's sign-in reads the same budget under the same key.
    expect(gate.failures.peek('admin:unknown').ok).toBe(false);
    advance(61_000);
    expect((await call('/admin/sites', ADMIN)).status).toBe(200);
  });
});
