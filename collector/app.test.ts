// The app's shared behaviour (request ids, error shape, limits), health, ping and enrollment, driven
// with app.request(): no network except to the real InfluxDB.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EnrollResponse, ErrorBody, HealthResponse } from '../protocol/api.ts';
import { freePort } from '../scripts/free-port.ts';
import { createDb, uniqueTestDb } from '../test/support/influx-query.ts';
import { MAX_BODY_BYTES } from './app.ts';
import { TEST_SITE, createTestCollector, type TestCollector } from '../test/support/collector-app.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('collector_app');
let now = Date.UTC(2025, 8, 1, 9);
let tc: TestCollector;

beforeAll(async () => {
  await createDb(influxUrl, db);
  tc = await createTestCollector({ influxUrl, db, clock: () => now });
});
afterAll(() => tc.cleanup());

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('every response', () => {
  it('carries a request id: a sane incoming one is kept, anything else replaced', async () => {
    const kept = await tc.app.request('/api/v1/ping', { headers: { 'x-request-id': 'lb-1234_abc' } });
    expect(kept.headers.get('x-request-id')).toBe('lb-1234_abc');
    const replaced = await tc.app.request('/api/v1/ping', { headers: { 'x-request-id': 'bad id\u0007<script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports errors as { error: { code, message, requestId } }', async () => {
    const res = await tc.app.request('/nope', { headers: { 'x-request-id': 'req-404' } });
    expect(res.status).toBe(404);
    expect(ErrorBody.parse(await res.json())).toEqual({ error: { code: 'not_found', message: 'no route for GET /nope', requestId: 'req-404' } });
  });

  it('refuses a body over 1 MiB with 413, with or without Content-Length', async () => {
    const big = JSON.stringify({ results: ['x'.repeat(MAX_BODY_BYTES)] });
    for (const headers of [tc.auth({ 'content-length': String(big.length) }), tc.auth()]) {
      const res = await tc.app.request('/api/v1/measurements', { method: 'POST', headers, body: big });
      expect(res.status).toBe(413);
      expect(((await res.json()) as ErrorBody).error.code).toBe('payload_too_large');
    }
  });

  it('logs requests without their tokens', async () => {
    await tc.app.request('/api/v1/measurements', { method: 'POST', headers: tc.auth(), body: '{}' });
    const joined = tc.logs.join('\n');
    expect(joined).toContain('"path":"/api/v1/measurements"');
    expect(joined).not.toContain(tc.token);
  });
});

describe('GET /api/v1/ping', () => {
  it('answers 204 with no body and no auth', async () => {
    const res = await tc.app.request('/api/v1/ping');
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
  });
});

describe('GET /healthz', () => {
  it('is ok with InfluxDB up, with version, uptime and registry counts', async () => {
    const res = await tc.app.request('/healthz');
    expect(res.status).toBe(200);
    const body = HealthResponse.parse(await res.json());
    expect(body).toMatchObject({ status: 'ok', version: '0.0.0-test', influx: { ok: true, url: influxUrl }, registry: { ok: true, sites: 1, devices: 1 } });
  });

  it('is degraded (503) with InfluxDB down, and says why', async () => {
    const down = await createTestCollector({ influxUrl: `http://127.0.0.1:${await freePort()}`, db });
    try {
      const res = await down.app.request('/healthz');
      expect(res.status).toBe(503);
      const body = HealthResponse.parse(await res.json());
      expect(body.status).toBe('degraded');
      expect(body.influx.ok).toBe(false);
      expect(body.influx.error).toMatch(/ECONNREFUSED/);
      expect(body.registry.ok).toBe(true);
    } finally {
      await down.cleanup();
    }
  });
});

describe('POST /api/v1/enroll', () => {
  it('exchanges a code for a device identity whose token works', async () => {
    const { code } = await tc.registry.createEnrollmentCode(TEST_SITE.code);
    const res = await tc.app.request('/api/v1/enroll', json({ code: code.toLowerCase(), hostname: 'PC-02', platform: 'linux', agentVersion: '0.1.0' }));
    expect(res.status).toBe(201);
    const body = EnrollResponse.parse(await res.json());
    expect(body).toMatchObject({ site: { code: TEST_SITE.code, name: TEST_SITE.name }, collectorTime: now });
    expect((await tc.registry.authenticateDevice(body.token))?.device).toMatchObject({ id: body.deviceId, hostname: 'PC-02', platform: 'linux' });
    expect(tc.logs.join('\n')).not.toContain(body.token);
  });

  it('refuses unknown, used-up and expired codes with distinct codes and an actionable message', async () => {
    const expect403 = async (code: string, errorCode: string) => {
      const res = await tc.app.request('/api/v1/enroll', json({ code }));
      expect(res.status).toBe(403);
      const { error } = ErrorBody.parse(await res.json());
      expect(error.code).toBe(errorCode);
      expect(error.message).toMatch(/ask the ICT department for a new code/);
    };
    await expect403('ZZZZ-ZZZZ-ZZZZ', 'enrollment_code_invalid');
    const once = (await tc.registry.createEnrollmentCode(TEST_SITE.code)).code;
    expect((await tc.app.request('/api/v1/enroll', json({ code: once }))).status).toBe(201);
    await expect403(once, 'enrollment_code_used_up');
    const shortLived = (await tc.registry.createEnrollmentCode(TEST_SITE.code, { ttlDays: 1 })).code;
    now += 2 * 86_400_000;
    await expect403(shortLived, 'enrollment_code_expired');
  });

  it('answers 400 for a malformed request', async () => {
    const res = await tc.app.request('/api/v1/enroll', json({ code: 'AB', extra: 1 }));
    expect(res.status).toBe(400);
    expect(ErrorBody.parse(await res.json()).error.message).toBe(
      'invalid enrollment request: code: must be at least 4 characters; unknown field "extra"',
    );
  });
});
