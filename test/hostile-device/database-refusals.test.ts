// Issue 14, cases 2 and 3. (2) Honest results were rejected, and so deleted by their agents, because of the
// database's own state: a field type conflict someone else caused, max-series-per-database. Now they are
// `held`: kept by the collector in its dead-letter store (SQLite, on disk, with InfluxDB's reason), listed,
// retried and purged through the admin API. (3) One device could create any number of series; now each
// device has a budget of distinct targets per probe, beyond which its results are refused with a reason
// and the device is flagged (admin API, /healthz, a device_flag point for the fleet dashboard and alert).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startInfluxd, type InfluxServer } from '../../scripts/influxd-server.ts';
import { type HostileStack, hostileStack, NOW, tcpResult } from './support.ts';

const influxUrl = inject('influxUrl');

async function admin(s: HostileStack, method: string, path: string, body?: unknown) {
  const res = await s.tc.app.request(`/api/v1/admin${path}`, { method, headers: s.tc.adminAuth(), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('a field type conflict someone else caused (case 2)', () => {
  let s: HostileStack;
  beforeAll(async () => {
    s = await hostileStack(influxUrl, 'hostile_conflict');
  });
  afterAll(() => s?.tc.cleanup());

  it('holds the honest results in the dead-letter store instead of rejecting them, and stores them once the database is fixed', async () => {
    // What an injected line used to do in an empty shard: loss_pct as an integer, rtt_median_ms as a string.
    const seeded = await fetch(`${influxUrl}/write?db=${s.db}&precision=ms`, { method: 'POST', body: `latency,site=FOREIGN-9 loss_pct=7i,rtt_median_ms="slow" ${NOW - 3_600_000}` });
    expect(seeded.status).toBe(204);
    const honest = [tcpResult(), tcpResult({ measuredAt: NOW - 120_000 }), tcpResult({ probe: 'dns', target: 'vnexpress.net', fields: { answers: 2, resolve_ms: 12 } })];
    const { status, body } = await s.post(honest);
    expect(status).toBe(200);
    expect(body.results.map((r) => r.status)).toEqual(['held', 'held', 'stored']);
    expect(body.rejected).toBe(0);
    expect(body.results[0]!.reason).toMatch(/dead-letter store \(type_conflict\).*field type conflict/);

    const listed = await admin(s, 'GET', '/dead-letters');
    expect(listed.status).toBe(200);
    expect(listed.json.total).toBe(2);
    const items = listed.json.items as { resultId: string; kind: string; reason: string; line: string }[];
    expect(items.map((d) => d.resultId).sort()).toEqual([honest[0]!.id, honest[1]!.id].sort());
    expect(items.every((d) => d.kind === 'type_conflict' && d.line.startsWith('latency,'))).toBe(true);

    // The agent resends (its ack was lost): still held, one entry, one more attempt. Never looped as rejected.
    expect((await s.post([honest[0]!])).body.results[0]!.status).toBe('held');
    expect((await admin(s, 'GET', '/dead-letters')).json.total).toBe(2);

    // A retry before the database is fixed changes nothing and loses nothing.
    expect((await admin(s, 'POST', '/dead-letters/retry', {})).json).toEqual({ stored: 0, refused: 2 });
    // The operator removes what the attacker wrote, retries: stored, and the store is empty.
    await fetch(`${influxUrl}/query?db=${s.db}`, { method: 'POST', body: new URLSearchParams({ q: 'DROP MEASUREMENT latency' }) });
    expect((await admin(s, 'POST', '/dead-letters/retry', {})).json).toEqual({ stored: 2, refused: 0 });
    expect((await admin(s, 'GET', '/dead-letters')).json.total).toBe(0);
    const rows = await s.query('SELECT result_id, loss_pct FROM latency');
    expect(rows.map((r) => r.result_id).sort()).toEqual([honest[0]!.id, honest[1]!.id].sort());

    const health = (await (await s.tc.app.request('/healthz')).json()) as { guards: { deadLetters: { total: number } } };
    expect(health.guards.deadLetters.total).toBe(0);
  });

  it('purges only what it is told to, and refuses a purge that names nothing', async () => {
    expect((await admin(s, 'POST', '/dead-letters/purge', {})).status).toBe(400);
    expect((await admin(s, 'POST', '/dead-letters/purge', { kind: 'series_limit' })).json).toEqual({ purged: 0 });
  });
});

describe('max-series-per-database reached (case 2)', () => {
  let server: InfluxServer;
  let s: HostileStack;
  beforeAll(async () => {
    server = await startInfluxd({ maxSeriesPerDatabase: 4 });
    s = await hostileStack(server.url, 'hostile_series_limit');
  });
  afterAll(async () => {
    await s?.tc.cleanup();
    await server?.stop();
  });

  it('holds results InfluxDB refuses for its series limit, with the reason, and shows them in /healthz', async () => {
    const filler = Array.from({ length: 4 }, (_, i) => `other,site=X${i} v=1 ${NOW - 1000}`).join('\n');
    expect((await fetch(`${server.url}/write?db=${s.db}&precision=ms`, { method: 'POST', body: filler })).status).toBe(204);
    const { body } = await s.post([tcpResult()]);
    expect(body.results[0]).toMatchObject({ status: 'held', reason: expect.stringMatching(/\(series_limit\).*max-series-per-database/) });
    const health = (await (await s.tc.app.request('/healthz')).json()) as { guards: { deadLetters: { total: number; byKind: Record<string, number> } } };
    expect(health.guards.deadLetters).toEqual({ total: 1, byKind: { series_limit: 1 } });
  });
});

describe('a device sending thousands of distinct targets (case 3)', () => {
  let s: HostileStack;
  beforeAll(async () => {
    s = await hostileStack(influxUrl, 'hostile_series_budget', { guardOptions: { maxTargetsPerProbe: 32 } });
  });
  afterAll(() => s?.tc.cleanup());

  it('keeps its series bounded, refuses the rest with a reason, flags the device, and costs other devices nothing', async () => {
    let stored = 0;
    let refused = 0;
    for (let batch = 0; batch < 6; batch++) {
      const results = Array.from({ length: 500 }, (_, i) => tcpResult({ target: `t${batch * 500 + i}.example.vn:443` }));
      const { body } = await s.post(results);
      stored += body.stored;
      refused += body.rejected;
      for (const r of body.results.filter((a) => a.status === 'rejected')) expect(r.reason).toMatch(/^series budget: this device already reports 32 distinct targets for probe tcp \(limit 32/);
    }
    expect({ stored, refused }).toEqual({ stored: 32, refused: 2968 });
    expect(await s.query('SHOW SERIES FROM latency')).toHaveLength(32);
    // Known targets keep working, so its honest probes are not lost.
    expect((await s.post([tcpResult({ target: 't0.example.vn:443', measuredAt: NOW - 5000 })])).body.results[0]!.status).toBe('stored');

    const flagged = (await admin(s, 'GET', '/device-flags')).json.devices as { deviceId: string; flag: string; count: number }[];
    expect(flagged).toEqual([expect.objectContaining({ deviceId: s.tc.deviceId, flag: 'series_budget', count: 2968 })]);
    const points = await s.query('SELECT "count" FROM device_flag');
    expect(points.length).toBeGreaterThan(0);
    expect(points[0]!.tags).toBeDefined();
    const health = (await (await s.tc.app.request('/healthz')).json()) as { guards: { seriesBudget: Record<string, number> } };
    expect(health.guards.seriesBudget).toEqual({ maxTargetsPerProbe: 32, refusedSinceStart: 2968, flaggedDevices: 1 });

    // Another device of the fleet is not affected.
    await s.tc.registry.addSite({ code: 'LC-002', name: 'Other school' });
    const { code } = await s.tc.registry.createEnrollmentCode('LC-002');
    const other = await s.tc.registry.enroll(code, { hostname: 'PC-02' });
    const res = await s.tc.app.request('/api/v1/measurements', {
      method: 'POST', headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results: [tcpResult({ target: 'fresh.example.vn:443' })] }),
    });
    expect(((await res.json()) as { results: { status: string }[] }).results[0]!.status).toBe('stored');
  });
});
