// The admin API through app.request(), with the real InfluxDB behind it: sites, CSV, codes, sheets,
// devices (revoke and move take effect on the next request), the audit log, and rate limits.
import fs from 'node:fs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EnrollResponse, ErrorBody } from '../../protocol/api.ts';
import { createDb, influxQuery, uniqueTestDb } from '../../test/support/influx-query.ts';
import { createApp } from '../app.ts';
import { createTestCollector, TEST_SITE, type TestCollector } from '../../test/support/collector-app.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('admin_api');
let now = Date.UTC(2025, 8, 1, 9);
let tc: TestCollector;
/** The test collector's admin token (random and strong, test/support/secrets.ts). */
let ADMIN = '';
const SAMPLE = fs.readFileSync(new URL('../sites.sample.csv', import.meta.url));
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  await createDb(influxUrl, db);
  tc = await createTestCollector({ influxUrl, db, clock: () => now });
  ADMIN = tc.adminToken;
});
afterAll(() => tc.cleanup());

async function admin(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await tc.app.request(`/api/v1/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array) ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8'); // keeps a BOM, which Response.text() would drop
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads many shapes
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { res, status: res.status, json, text };
}

const tcp = (id: string, measuredAt: number) => ({
  id, probe: 'tcp', target: 'songcheck.example.vn:443', measuredAt, code: 'ok', fields: { sent: 1, received: 1, loss_pct: 0, rtt_median_ms: 30 },
});

async function enrollDevice(site: string, extra: Record<string, string> = {}) {
  const created = await admin('POST', `/sites/${site}/enrollment-codes`, {});
  const res = await tc.app.request('/api/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: created.json.code, ...extra }) });
  expect(res.status).toBe(201);
  return EnrollResponse.parse(await res.json());
}

const send = (token: string, results: unknown[]) =>
  tc.app.request('/api/v1/measurements', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ results }) });

describe('sites', () => {
  it('adds, lists with filters, shows and edits a site', async () => {
    const added = await admin('POST', '/sites', { code: 'LC-100', name: 'Trường Pa Cheo', commune: 'Pa Cheo', operator: 'vnpt', linkType: '4g', groups: ['cụm:Bắc'] });
    expect(added.status).toBe(201);
    expect(added.json.site).toMatchObject({ code: 'LC-100', groups: ['cụm:Bắc'] });
    expect((await admin('POST', '/sites', { code: 'LC-100', name: 'Again' })).json.error.code).toBe('site_exists');
    const bad = await admin('POST', '/sites', { code: 'LC-101', name: '', latitude: 200, longitude: 100 });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toBe('invalid body: name: must be at least 1 character; latitude: must be <= 90');

    expect((await admin('GET', '/sites?group=cụm:Bắc')).json.sites.map((s: { code: string }) => s.code)).toEqual(['LC-100']);
    expect((await admin('GET', '/sites?q=pa%20cheo')).json.sites).toHaveLength(1);
    expect((await admin('GET', '/sites?colour=red')).status).toBe(400);

    const edited = await admin('PATCH', '/sites/LC-100', { students: 75, operator: null });
    expect(edited.json).toMatchObject({ changed: ['operator', 'students'], site: { students: 75 } });
    expect(edited.json.site).not.toHaveProperty('operator');
    expect((await admin('PATCH', '/sites/LC-404', { students: 1 })).json.error.code).toBe('site_not_found');
    const shown = await admin('GET', '/sites/LC-100');
    expect(shown.json).toMatchObject({ site: { code: 'LC-100' }, devices: [], enrollmentCodes: [] });
  });

  it('imports CSV with a dry run, refuses bad rows with 422 naming each, and exports the same format', async () => {
    const dry = await admin('POST', '/sites/import?dry_run=1', new Uint8Array(SAMPLE), { 'content-type': 'text/csv' });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ dryRun: true, applied: false, created: 6 });
    expect((await admin('GET', '/sites/LC-0001')).status).toBe(404);

    const done = await admin('POST', '/sites/import', new Uint8Array(SAMPLE), { 'content-type': 'text/csv' });
    expect(done.json).toMatchObject({ applied: true, created: 6 });
    const again = await admin('POST', '/sites/import', new Uint8Array(SAMPLE), { 'content-type': 'text/csv' });
    expect(again.json).toMatchObject({ applied: true, created: 0, updated: 0, unchanged: 6 });

    const bad = await admin('POST', '/sites/import', 'code,name,latitude,longitude\nLC-200,Trường A,1,2\nLC-201,,,\nLC-0001,Điểm trường Bản Xèo,99,1\n');
    expect(bad.status).toBe(422);
    expect(ErrorBody.parse(bad.json).error).toMatchObject({
      code: 'csv_invalid',
      message: '2 invalid row(s); nothing was imported. Fix them, or import the valid rows with allow_partial=1',
      details: [
        { line: 3, path: 'LC-201', message: 'name: required for a new site' },
        { line: 4, path: 'LC-0001', message: 'latitude: must be <= 90' },
      ],
    });
    expect((await admin('GET', '/sites/LC-200')).status).toBe(404);
    const partial = await admin('POST', '/sites/import?allow_partial=true', 'code,name,latitude,longitude\nLC-200,Trường A,1,2\nLC-201,,,\n');
    expect(partial.json).toMatchObject({ applied: true, created: 1, invalid: 1 });
    const unreadable = await admin('POST', '/sites/import', 'code,nam\nX,Y\n');
    expect(unreadable.status).toBe(422);
    expect(unreadable.json.error.message).toMatch(/unknown column "nam"/);

    const exported = await admin('GET', '/sites/export');
    expect(exported.res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(exported.text.startsWith('\uFEFFcode,name,commune,province,operator,link_type,latitude,longitude,students,groups,profile,notes\r\n')).toBe(true);
    const roundTrip = await admin('POST', '/sites/import', exported.text);
    expect(roundTrip.json).toMatchObject({ created: 0, updated: 0, invalid: 0 });
  });
});

describe('enrollment codes and sheets', () => {
  it('creates a code that enrols, lists it without the code, and withdraws it', async () => {
    const created = await admin('POST', '/sites/LC-0002/enrollment-codes', { uses: 2, ttlDays: 7 });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ siteCode: 'LC-0002', uses: 2, expiresAt: now + 7 * 86_400_000, command: `songcheck-agent enroll --collector https://songcheck.example.vn --code ${created.json.code}` });
    const listed = await admin('GET', '/enrollment-codes?site=LC-0002');
    expect(listed.json.codes).toEqual([expect.objectContaining({ id: created.json.id, usesLeft: 2, status: 'active' })]);
    expect(listed.text).not.toContain(created.json.code);
    expect((await admin('POST', `/enrollment-codes/${created.json.id}/revoke`)).json).toEqual({ id: created.json.id, revoked: true });
    const refused = await tc.app.request('/api/v1/enroll', { method: 'POST', body: JSON.stringify({ code: created.json.code }) });
    expect(refused.status).toBe(403);
    expect((await admin('POST', '/enrollment-codes/ec_0000000000000000/revoke')).json.error.code).toBe('enrollment_code_not_found');
    expect((await admin('POST', '/sites/LC-404/enrollment-codes')).json.error.code).toBe('site_not_found');
  });

  it('prints a sheet per school (escaped names, the code in large type, an inline QR code), or the codes as CSV', async () => {
    await admin('PATCH', '/sites/LC-0003', { name: 'Điểm trường <Sín Chéng> & "A"' });
    const sheets = await admin('POST', '/enrollment-sheets', { group: 'huyện cũ:Bát Xát', ttlDays: 14 });
    expect(sheets.status).toBe(200);
    expect(sheets.res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(sheets.text.match(/<section class="sheet">/g)).toHaveLength(3); // LC-0001, LC-0002, LC-0005
    expect(sheets.text.match(/<svg/g)).toHaveLength(3);
    expect(sheets.text).toContain('Điểm trường Bản Xèo');
    expect(sheets.text).toContain('Hướng dẫn');
    expect(sheets.text).toContain('Instructions');
    const codes = [...sheets.text.matchAll(/<div class="code">([0-9A-Z-]+)<\/div>/g)].map((m) => m[1]!);
    expect(codes).toHaveLength(3);
    const one = await tc.app.request('/api/v1/enroll', { method: 'POST', body: JSON.stringify({ code: codes[0] }) });
    expect(((await one.json()) as { site: { code: string } }).site.code).toBe('LC-0001');

    const escaped = await admin('POST', '/enrollment-sheets', { sites: ['LC-0003'] });
    expect(escaped.text).toContain('Điểm trường &lt;Sín Chéng&gt; &amp; &quot;A&quot;');
    expect(escaped.text).not.toContain('<Sín Chéng>');

    const csv = await admin('POST', '/enrollment-sheets', { commune: 'y tý', format: 'csv' });
    expect(csv.text.split('\r\n')[0]).toBe('\uFEFFsite_code,site_name,commune,enrollment_code,valid_until,uses,command');
    expect(csv.text).toMatch(/\r\nLC-0002,Trường PTDTBT Tiểu học Y Tý,Y Tý,[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4},\d\d\/\d\d\/\d{4},1,songcheck-agent enroll/);

    expect((await admin('POST', '/enrollment-sheets', { all: true, group: 'x' })).json.error.message).toBe(
      'invalid body: choose the sites with exactly one of sites, group, commune or all',
    );
    expect((await admin('POST', '/enrollment-sheets', { sites: ['LC-0001', 'NOPE-1'] })).json.error).toMatchObject({ code: 'site_not_found', message: 'no site with code NOPE-1' });
    expect(tc.logs.join('\n')).not.toContain(codes[1]!);
  });
});

describe('devices', () => {
  it('lists devices with a duplicate-fingerprint flag and filters', async () => {
    const a = await enrollDevice('LC-0004', { fingerprint: 'c'.repeat(32), hostname: 'PC-A', platform: 'win32 10.0.19045', agentVersion: '0.1.0' });
    const b = await enrollDevice('LC-0004', { fingerprint: 'c'.repeat(32), hostname: 'PC-A' });
    const listed = await admin('GET', '/devices?site=LC-0004');
    expect(listed.json.devices).toEqual([
      expect.objectContaining({ id: a.deviceId, siteCode: 'LC-0004', siteName: 'Trường Mầm non Bản Lầu', platform: 'win32 10.0.19045', agentVersion: '0.1.0', lastSeenAt: now, duplicateFingerprint: true }),
      expect.objectContaining({ id: b.deviceId, duplicateFingerprint: true }),
    ]);
    expect((await admin('GET', '/devices?duplicates=1')).json.devices.map((d: { id: string }) => d.id)).toEqual([a.deviceId, b.deviceId]);
    expect(tc.logs.some((l) => l.includes('hardware fingerprint another active device has') && l.includes(a.deviceId))).toBe(true);
    expect((await admin('GET', `/devices/${a.deviceId}`)).json.device.id).toBe(a.deviceId);
    expect((await admin('GET', '/devices/dev_00000000000000000000000000000000')).json.error.code).toBe('device_not_found');
    expect((await admin('GET', '/devices/not-an-id')).status).toBe(400);
  });

  it('revokes a device: its very next request is refused, and it leaves the default list', async () => {
    const d = await enrollDevice('LC-0005');
    expect((await send(d.token, [tcp('rv-000001', now - 1000)])).status).toBe(200);
    const revoked = await admin('POST', `/devices/${d.deviceId}/revoke`, { reason: 'stolen' });
    expect(revoked.json).toMatchObject({ changed: true, device: { revokedAt: now, revokedReason: 'stolen' } });
    expect((await send(d.token, [tcp('rv-000002', now - 500)])).status).toBe(401);
    expect((await admin('GET', '/devices?site=LC-0005')).json.devices).toEqual([]);
    expect((await admin('GET', '/devices?site=LC-0005&revoked=1')).json.devices).toHaveLength(1);
    expect((await admin('POST', `/devices/${d.deviceId}/revoke`)).json.changed).toBe(false);
    expect(await influxQuery(influxUrl, db, `SELECT result_id FROM latency WHERE result_id = 'rv-000002'`)).toEqual([]);
  });

  it('moves a device: new points carry the new site and its tags, old points keep theirs', async () => {
    const d = await enrollDevice('LC-0001');
    expect((await send(d.token, [tcp('mv-000001', now - 2000)])).status).toBe(200);
    const moved = await admin('POST', `/devices/${d.deviceId}/move`, { site: 'LC-0002' });
    expect(moved.json).toMatchObject({ from: 'LC-0001', to: 'LC-0002', changed: true, device: { siteCode: 'LC-0002' } });
    expect((await send(d.token, [tcp('mv-000002', now - 1000)])).status).toBe(200);
    const rows = await influxQuery(influxUrl, db, `SELECT result_id, site, operator, commune FROM latency WHERE result_id =~ /^mv-/`);
    expect(rows.map((r) => [r.result_id, r.site, r.operator, r.commune])).toEqual([
      ['mv-000001', 'LC-0001', 'viettel', 'Bản Xèo'],
      ['mv-000002', 'LC-0002', 'vnpt', 'Y Tý'],
    ]);
    expect((await admin('POST', `/devices/${d.deviceId}/move`, { site: 'LC-404' })).json.error.code).toBe('site_not_found');
    expect((await admin('POST', `/devices/${d.deviceId}/move`, {})).status).toBe(400);
  });

  it('keeps an audit log of who did what', async () => {
    const audit = await admin('GET', '/audit?limit=500');
    const actions = new Set(audit.json.entries.map((e: { action: string }) => e.action));
    for (const a of ['site.add', 'site.edit', 'code.create', 'code.revoke', 'device.enroll', 'device.revoke', 'device.move']) expect(actions).toContain(a);
    expect(audit.json.entries[0].actor).toMatch(/^admin-api [0-9a-f-]{36}$|^agent$/);
  });

  it('never logs the admin token', async () => {
    expect(tc.logs.join('\n')).not.toContain(ADMIN);
  });
});

describe('rate limits', () => {
  it('per device: 429 with Retry-After once the burst is spent, other devices unaffected', async () => {
    const app = createApp({ registry: tc.registry, writer: tc.writer, logger: silent, clock: () => now, version: 't', adminToken: ADMIN, limits: { device: { burst: 3, perSecond: 0.5 } } });
    const other = await enrollDevice(TEST_SITE.code);
    const post = (token: string, id: string) =>
      app.request('/api/v1/measurements', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ results: [tcp(id, now - 100)] }) });
    for (let i = 0; i < 3; i++) expect((await post(tc.token, `rl-00000${i}`)).status).toBe(200);
    const limited = await post(tc.token, 'rl-000009');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(ErrorBody.parse(await limited.json()).error.code).toBe('rate_limited');
    expect((await post(other.token, 'rl-000010')).status).toBe(200);
    now += 2000;
    expect((await post(tc.token, 'rl-000011')).status).toBe(200);
    expect(await influxQuery(influxUrl, db, `SELECT result_id FROM latency WHERE result_id = 'rl-000009'`)).toEqual([]);
  });

  it('failed enrollments and failed admin logins per client address; successful enrollments cost nothing', async () => {
    const app = createApp({ registry: tc.registry, writer: tc.writer, logger: silent, clock: () => now, version: 't', adminToken: ADMIN, limits: { authFailures: { burst: 2, perSecond: 1 / 60 } }, trustProxy: true });
    const enroll = (code: string, ip: string) =>
      app.request('/api/v1/enroll', { method: 'POST', headers: { 'x-forwarded-for': `10.9.9.9, ${ip}` }, body: JSON.stringify({ code }) });
    for (let i = 0; i < 3; i++) {
      const code = (await admin('POST', `/sites/${TEST_SITE.code}/enrollment-codes`)).json.code;
      expect((await enroll(code, '203.0.113.7')).status).toBe(201);
    }
    expect((await enroll('ZZZZ-ZZZZ-ZZZ1', '203.0.113.7')).status).toBe(403);
    expect((await enroll('ZZZZ-ZZZZ-ZZZ2', '203.0.113.7')).status).toBe(403);
    const limited = await enroll('ZZZZ-ZZZZ-ZZZ3', '203.0.113.7');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Even a good code waits: the address is out of attempts. Another school is not affected.
    const good = (await admin('POST', `/sites/${TEST_SITE.code}/enrollment-codes`)).json.code;
    expect((await enroll(good, '203.0.113.7')).status).toBe(429);
    expect((await enroll(good, '198.51.100.4')).status).toBe(201);

    const login = (token: string) => app.request('/api/v1/admin/sites', { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '192.0.2.1' } });
    expect((await login('wrong-token-1')).status).toBe(401);
    expect((await login('wrong-token-2')).status).toBe(401);
    expect((await login('wrong-token-3')).status).toBe(429);
    expect((await login(ADMIN)).status).toBe(429);
    now += 61_000;
    expect((await login(ADMIN)).status).toBe(200);
  });
});

