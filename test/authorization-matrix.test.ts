// The authorization matrix: every route of the app against every credential that must not work (none,
// a wrong token, a revoked device's token, another site's device, a device token on admin routes, the
// admin token on device routes). Each answer is 401 or 403 with the error body, and nothing changes:
// not a point or series in InfluxDB, not a row in the registry. Each request carries a body that would
// write if it were let through. A route missing from this table fails the test, so new routes get checked.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ErrorBody } from '../protocol/api.ts';
import { createTestCollector, TEST_SITE, type TestCollector } from './support/collector-app.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';
import { strongToken } from './support/secrets.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('authz_matrix');
const NOW = Date.UTC(2025, 8, 1, 9);
const ADMIN = strongToken();
let tc: TestCollector;
let other: { deviceId: string; token: string };
let revoked: { deviceId: string; token: string };
let codeId: string;

const result = (id: string, extra: Record<string, unknown> = {}) => ({
  id, probe: 'tcp', target: 'songcheck.example.vn:443', measuredAt: NOW - 1000, code: 'ok', fields: { sent: 1, received: 1, loss_pct: 0 }, ...extra,
});

type Access = 'public' | 'device' | 'admin';

/** Every route with who may call it and a request that would change something if it got through. */
function routes(): Record<string, { access: Access; path: string; body?: string; contentType?: string }> {
  const site = TEST_SITE.code;
  return {
    'GET /healthz': { access: 'public', path: '/healthz' },
    'GET /api/v1/ping': { access: 'public', path: '/api/v1/ping' },
    'POST /api/v1/enroll': { access: 'public', path: '/api/v1/enroll', body: JSON.stringify({ code: 'ZZZZ-ZZZZ-ZZZZ' }) },
    'POST /api/v1/measurements': { access: 'device', path: '/api/v1/measurements', body: JSON.stringify({ results: [result('authz-0001')] }) },
    'GET /api/v1/admin/sites': { access: 'admin', path: '/api/v1/admin/sites' },
    'POST /api/v1/admin/sites': { access: 'admin', path: '/api/v1/admin/sites', body: JSON.stringify({ code: 'EVIL-1', name: 'Evil' }) },
    'GET /api/v1/admin/sites/export': { access: 'admin', path: '/api/v1/admin/sites/export' },
    'POST /api/v1/admin/sites/import': { access: 'admin', path: '/api/v1/admin/sites/import', body: 'code,name\nEVIL-2,Evil\n', contentType: 'text/csv' },
    'GET /api/v1/admin/sites/:code': { access: 'admin', path: `/api/v1/admin/sites/${site}` },
    'PATCH /api/v1/admin/sites/:code': { access: 'admin', path: `/api/v1/admin/sites/${site}`, body: JSON.stringify({ operator: 'evil' }) },
    'POST /api/v1/admin/sites/:code/enrollment-codes': { access: 'admin', path: `/api/v1/admin/sites/${site}/enrollment-codes`, body: '{}' },
    'GET /api/v1/admin/enrollment-codes': { access: 'admin', path: '/api/v1/admin/enrollment-codes' },
    'POST /api/v1/admin/enrollment-codes/:id/revoke': { access: 'admin', path: `/api/v1/admin/enrollment-codes/${codeId}/revoke` },
    'POST /api/v1/admin/enrollment-sheets': { access: 'admin', path: '/api/v1/admin/enrollment-sheets', body: JSON.stringify({ all: true }) },
    'GET /api/v1/admin/devices': { access: 'admin', path: '/api/v1/admin/devices' },
    'GET /api/v1/admin/devices/:id': { access: 'admin', path: `/api/v1/admin/devices/${tc.deviceId}` },
    'POST /api/v1/admin/devices/:id/revoke': { access: 'admin', path: `/api/v1/admin/devices/${tc.deviceId}/revoke` },
    'POST /api/v1/admin/devices/:id/move': { access: 'admin', path: `/api/v1/admin/devices/${tc.deviceId}/move`, body: JSON.stringify({ site: 'OTHER-1' }) },
    'GET /api/v1/admin/audit': { access: 'admin', path: '/api/v1/admin/audit' },
    // Control channel (collector/control/admin-routes.ts).
    'POST /api/v1/admin/agent-configs': { access: 'admin', path: '/api/v1/admin/agent-configs', body: JSON.stringify({ target: { all: true }, config: {} }) },
    'GET /api/v1/admin/agent-configs': { access: 'admin', path: '/api/v1/admin/agent-configs' },
    'GET /api/v1/admin/agent-configs/status': { access: 'admin', path: '/api/v1/admin/agent-configs/status' },
    'POST /api/v1/admin/commands': { access: 'admin', path: '/api/v1/admin/commands', body: JSON.stringify({ target: { site }, command: { kind: 'run_probe', probe: 'tcp' } }) },
    'GET /api/v1/admin/commands': { access: 'admin', path: '/api/v1/admin/commands' },
    'GET /api/v1/admin/commands/:id': { access: 'admin', path: '/api/v1/admin/commands/cmd_0123456789abcdef' },
    // Ingest guards (collector/guards/admin-routes.ts).
    'GET /api/v1/admin/dead-letters': { access: 'admin', path: '/api/v1/admin/dead-letters' },
    'POST /api/v1/admin/dead-letters/retry': { access: 'admin', path: '/api/v1/admin/dead-letters/retry', body: '{}' },
    'POST /api/v1/admin/dead-letters/purge': { access: 'admin', path: '/api/v1/admin/dead-letters/purge', body: JSON.stringify({ all: true }) },
    'GET /api/v1/admin/device-flags': { access: 'admin', path: '/api/v1/admin/device-flags' },
    'DELETE /api/v1/admin/device-flags/:device': { access: 'admin', path: `/api/v1/admin/device-flags/${tc.deviceId}` },
  };
}

/** Everything a request could have changed. */
async function state(): Promise<string> {
  const series = await influxQuery(influxUrl, db, 'SHOW SERIES');
  const points = await influxQuery(influxUrl, db, 'SELECT count(result_id) FROM /.*/');
  return JSON.stringify({
    series: series.map((r) => r.key).sort(),
    points: points.map((r) => r.count),
    sites: await tc.registry.listSites(),
    devices: await tc.registry.listDevices({ includeRevoked: true }),
    codes: await tc.registry.listEnrollmentCodes(),
    audit: (await tc.registry.auditLog({ limit: 10_000 })).length,
    control: await tc.registry.store.get('SELECT (SELECT COUNT(*) FROM agent_configs) AS configs, (SELECT COUNT(*) FROM control_commands) AS commands'),
  });
}

beforeAll(async () => {
  await createDb(influxUrl, db);
  // Failure limits out of the way: this test makes many failed attempts on purpose (they are tested elsewhere).
  tc = await createTestCollector({ influxUrl, db, clock: () => NOW, app: { limits: { authFailures: { burst: 10_000, perSecond: 1 } } } });
  await tc.registry.addSite({ code: 'OTHER-1', name: 'Another school', operator: 'vnpt' });
  other = await tc.registry.enroll((await tc.registry.createEnrollmentCode('OTHER-1')).code);
  revoked = await tc.registry.enroll((await tc.registry.createEnrollmentCode(TEST_SITE.code)).code);
  await tc.registry.revokeDevice(revoked.deviceId);
  codeId = (await tc.registry.createEnrollmentCode(TEST_SITE.code)).id;
  // One stored point so InfluxDB has a baseline to compare with.
  const res = await tc.app.request('/api/v1/measurements', { method: 'POST', headers: tc.auth(), body: JSON.stringify({ results: [result('authz-base')] }) });
  expect(res.status).toBe(200);
});
afterAll(() => tc.cleanup());

describe('authorization matrix', () => {
  it('covers every route the app serves', async () => {
    const served = new Set(tc.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
    expect([...served].sort()).toEqual(Object.keys(routes()).sort());
  });

  const credentials: [string, () => string | undefined, Access[]][] = [
    ['no token', () => undefined, ['device', 'admin']],
    ['a wrong token', () => 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', ['device', 'admin']],
    ['another scheme', () => `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}`, ['device', 'admin']],
    ['a revoked device token', () => `Bearer ${revoked.token}`, ['device', 'admin']],
    ["another site's device token", () => `Bearer ${other.token}`, ['admin']],
    ["this site's device token", () => `Bearer ${tc.token}`, ['admin']],
    ['the admin token', () => `Bearer ${ADMIN}`, ['device']],
  ];

  for (const [what, header, applies] of credentials) {
    it(`refuses ${what} on every ${applies.join(' and ')} route with 401 or 403 and 0 writes`, async () => {
      const checked: string[] = [];
      for (const [route, r] of Object.entries(routes())) {
        if (!applies.includes(r.access)) continue;
        const before = await state();
        const method = route.split(' ')[0]!;
        const auth = header();
        const res = await tc.app.request(r.path, {
          method,
          headers: { ...(auth ? { authorization: auth } : {}), ...(r.body ? { 'content-type': r.contentType ?? 'application/json' } : {}) },
          body: r.body,
        });
        const body = ErrorBody.parse(await res.json());
        // A device token on the admin API is a valid credential without the right: 403. Anything not recognised: 401.
        const expected = r.access === 'admin' && (what === "another site's device token" || what === "this site's device token") ? 403 : 401;
        expect({ route, status: res.status }).toEqual({ route, status: expected });
        expect(body.error.code).toBe(expected === 401 ? 'unauthorized' : 'forbidden');
        expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
        if (expected === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="songcheck/);
        expect(await state()).toBe(before);
        checked.push(route);
      }
      expect(checked.length).toBeGreaterThan(0);
    });
  }

  it("lets no device write into another site's series, whatever its body says", async () => {
    const before = await influxQuery(influxUrl, db, `SELECT count(result_id) FROM latency WHERE site = '${TEST_SITE.code}'`);
    const attempts = [
      result('authz-x001', { site: TEST_SITE.code }),
      result('authz-x002', { tags: { site: TEST_SITE.code } }),
      result('authz-x003', { target: `x,site=${TEST_SITE.code} rtt=1` }),
      result('authz-x004', { target: `x\nlatency,site=${TEST_SITE.code} sent=1` }),
    ];
    const res = await tc.app.request('/api/v1/measurements', {
      method: 'POST',
      headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ site: TEST_SITE.code, results: attempts }),
    });
    expect(res.status).toBe(400); // the envelope has no "site"
    const res2 = await tc.app.request('/api/v1/measurements', {
      method: 'POST',
      headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results: attempts }),
    });
    const acks = ((await res2.json()) as { results: { status: string }[] }).results.map((a) => a.status);
    expect(acks).toEqual(['rejected', 'rejected', 'rejected', 'rejected']); // the last two: targets outside the tag grammar
    expect(await influxQuery(influxUrl, db, `SELECT count(result_id) FROM latency WHERE site = '${TEST_SITE.code}'`)).toEqual(before);
    expect(await influxQuery(influxUrl, db, `SELECT result_id, site, device FROM latency WHERE result_id =~ /^authz-x/`)).toEqual([]);
    expect(new Set((await influxQuery(influxUrl, db, 'SHOW MEASUREMENTS')).map((r) => r.name))).toEqual(new Set(['latency']));
  });
});
