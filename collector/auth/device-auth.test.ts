import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../http/env.ts';
import { Registry } from '../registry/registry.ts';
import { deviceAuth } from './device-auth.ts';

let dir: string;
let registry: Registry;
let token: string;
let deviceId: string;
const app = new Hono<AppEnv>();

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-auth-'));
  registry = Registry.open(dir);
  registry.addSite({ code: 'S1', name: 'Site 1', operator: 'vnpt' });
  ({ token, deviceId } = registry.enroll(registry.createEnrollmentCode('S1').code));
  app.use(requestId());
  app.get('/who', deviceAuth(registry), (c) => c.json({ device: c.get('device').device.id, site: c.get('device').site.code }));
});
afterAll(() => {
  registry.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const who = (authorization?: string) => app.request('/who', { headers: authorization === undefined ? {} : { authorization } });

describe('deviceAuth', () => {
  it('puts the device and its site on the context for a valid bearer token', async () => {
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `Bearer  ${token} `]) {
      const res = await who(header);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ device: deviceId, site: 'S1' });
    }
  });

  it.each([
    ['no header', undefined, /missing device token/],
    ['another scheme', `Basic ${token}`, /missing device token/],
    ['an empty token', 'Bearer ', /missing device token/],
    ['an oversized token', `Bearer ${'a'.repeat(600)}`, /missing device token/],
    ['an unknown token', 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', /not recognised or revoked/],
  ])('answers 401 with a challenge for %s', async (_what, header, message) => {
    const res = await who(header);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="songcheck"');
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.message).toMatch(message);
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('refuses a revoked device', async () => {
    const { token: other, deviceId: otherId } = registry.enroll(registry.createEnrollmentCode('S1').code);
    expect((await who(`Bearer ${other}`)).status).toBe(200);
    registry.revokeDevice(otherId);
    expect((await who(`Bearer ${other}`)).status).toBe(401);
  });
});
