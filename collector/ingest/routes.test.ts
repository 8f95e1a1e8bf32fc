// POST /api/v1/measurements through app.request(), against the real InfluxDB. Every claim is checked by
// reading InfluxDB back, because "200 OK" is only worth what was actually stored.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MeasurementBatchResponse } from '../../protocol/api.ts';
import { freePort } from '../../scripts/free-port.ts';
import { createDb, influxQuery, uniqueTestDb } from '../../test/support/influx-query.ts';
import { createTestCollector, type TestCollector } from '../../test/support/collector-app.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('collector_measurements');
const NOW = Date.UTC(2025, 8, 1, 9, 0, 0);
let tc: TestCollector;

function tcp(n: number, over: Record<string, unknown> = {}, fields: Record<string, unknown> = {}) {
  return {
    id: `res-${String(n).padStart(4, '0')}`,
    probe: 'tcp',
    target: 'collector.example.vn:443',
    measuredAt: NOW - 60_000 + n,
    code: 'ok',
    fields: { sent: 3, received: 3, loss_pct: 0, rtt_median_ms: 40 + n, ...fields },
    ...over,
  };
}

async function post(body: unknown, headers = tc.auth()) {
  const res = await tc.app.request('/api/v1/measurements', { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { res, json: (await res.json()) as MeasurementBatchResponse & { error?: { code: string; message: string } } };
}

const count = async (where = '') => {
  const rows = await influxQuery(influxUrl, db, `SELECT count(rtt_median_ms) FROM latency ${where}`);
  return (rows[0]?.count as number | undefined) ?? 0;
};

beforeAll(async () => {
  await createDb(influxUrl, db);
  tc = await createTestCollector({ influxUrl, db, clock: () => NOW });
});
afterAll(() => tc.cleanup());

describe('POST /api/v1/measurements', () => {
  it('stores every result with the device\'s site tags and its ms timestamp, and acknowledges each', async () => {
    const batch = { agentVersion: '0.1.0', results: [tcp(1), tcp(2, { code: 'partial' }, { received: 2, loss_pct: 33.3 })] };
    const { res, json } = await post(batch);
    expect(res.status).toBe(200);
    expect(json).toEqual({
      stored: 2,
      rejected: 0,
      results: [
        { index: 0, id: 'res-0001', status: 'stored' },
        { index: 1, id: 'res-0002', status: 'stored' },
      ],
    });
    const rows = await influxQuery(influxUrl, db, `SELECT * FROM latency WHERE result_id = 'res-0002' GROUP BY *`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      time: NOW - 60_000 + 2,
      result_id: 'res-0002',
      loss_pct: 33.3,
      received: 2,
      tags: {
        site: 'LC-001',
        device: tc.deviceId,
        commune: 'Bản Xèo',
        operator: 'viettel',
        link_type: '4g',
        method: 'tcp_connect',
        code: 'partial',
        target: 'collector.example.vn:443',
      },
    });
    expect((await tc.registry.authenticateDevice(tc.token))?.device).toMatchObject({ lastSeenAt: NOW, agentVersion: '0.1.0' });
  });

  it('does not duplicate a replayed batch', async () => {
    const batch = { results: [tcp(10), tcp(11), tcp(12)] };
    expect((await post(batch)).json.stored).toBe(3);
    const before = await count();
    expect((await post(batch)).json.stored).toBe(3);
    expect(await count()).toBe(before);
  });

  it('rejects a bad result with a readable reason and stores its neighbours', async () => {
    const batch = {
      results: [
        tcp(20),
        tcp(21, {}, { loss_pct: 101 }),
        tcp(22, { site: 'OTHER-SITE' }),
        tcp(23, { measuredAt: NOW + 11 * 60_000 }),
        { probe: 'teleport', id: 'res-0024' },
        'not even an object',
        tcp(25, { measuredAt: NOW + 5 * 60_000 }), // a little ahead is tolerated (clock skew)
      ],
    };
    const { res, json } = await post(batch);
    expect(res.status).toBe(200);
    expect(json.stored).toBe(3);
    expect(json.rejected).toBe(4);
    expect(json.results).toEqual([
      { index: 0, id: 'res-0020', status: 'stored' },
      { index: 1, id: 'res-0021', status: 'rejected', reason: 'fields.loss_pct: must be <= 100' },
      { index: 2, id: 'res-0022', status: 'rejected', reason: 'unknown field "site"' },
      { index: 3, id: 'res-0023', status: 'stored' }, // 11 min ahead: stored at the collector's time, flagged (clock_shift_ms)
      { index: 4, id: 'res-0024', status: 'rejected', reason: 'probe: must be one of tcp, icmp, http, dns, agent_health, device_facts, gateway, throughput, uptime, outage, agent_event' },
      { index: 5, status: 'rejected', reason: 'must be an object' },
      { index: 6, id: 'res-0025', status: 'stored' },
    ]);
    const stored = await influxQuery(influxUrl, db, `SELECT result_id FROM latency WHERE result_id =~ /^res-002/`);
    expect(stored.map((r) => r.result_id).sort()).toEqual(['res-0020', 'res-0023', 'res-0025']);
    // The body could not move the point to another site.
    expect(await influxQuery(influxUrl, db, `SELECT count(rtt_median_ms) FROM latency WHERE site = 'OTHER-SITE'`)).toEqual([]);
  });

  it('when InfluxDB refuses the batch, finds the refused point, keeps it in the dead-letter store and stores the rest', async () => {
    // Make `jitter_ms` a string field in this shard, so a result carrying it as a number conflicts.
    await fetch(`${influxUrl}/write?db=${db}&precision=ms`, { method: 'POST', body: `latency,site=seed jitter_ms="text" ${NOW - 120_000}` });
    const { res, json } = await post({ results: [tcp(30), tcp(31, {}, { jitter_ms: 1.5 }), tcp(32)] });
    expect(res.status).toBe(200);
    expect(json.results.map((r) => r.status)).toEqual(['stored', 'held', 'stored']);
    expect(json.results[1]!.reason).toMatch(/^kept by the collector in its dead-letter store \(type_conflict\): .*field type conflict/);
    const stored = await influxQuery(influxUrl, db, `SELECT result_id FROM latency WHERE result_id =~ /^res-003/`);
    expect(stored.map((r) => r.result_id).sort()).toEqual(['res-0030', 'res-0032']);
  });

  it('answers 400 for an invalid envelope and for invalid JSON, storing nothing', async () => {
    const empty = await post({ results: [] });
    expect(empty.res.status).toBe(400);
    expect(empty.json.error).toMatchObject({ code: 'bad_request', message: 'invalid batch: results: must have at least 1 item' });
    const broken = await post('{"results": [');
    expect(broken.res.status).toBe(400);
    expect(broken.json.error!.message).toMatch(/^request body is not valid JSON/);
  });

  it('answers 401 without a valid device token', async () => {
    const none = await post({ results: [tcp(40)] }, { 'content-type': 'application/json' });
    expect(none.res.status).toBe(401);
    expect(none.res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await post({ results: [tcp(40)] }, tc.auth({ authorization: 'Bearer not-a-real-token' }));
    expect(wrong.res.status).toBe(401);
    expect(wrong.json.error!.code).toBe('unauthorized');
    expect(await count(`WHERE result_id = 'res-0040'`)).toBe(0);
  });
});

describe('POST /api/v1/measurements with InfluxDB unreachable', () => {
  it('answers 503 with Retry-After and acknowledges nothing', async () => {
    const down = await createTestCollector({ influxUrl: `http://127.0.0.1:${await freePort()}`, db, clock: () => NOW });
    try {
      const res = await down.app.request('/api/v1/measurements', { method: 'POST', headers: down.auth(), body: JSON.stringify({ results: [tcp(50)] }) });
      expect(res.status).toBe(503);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(30);
      expect(retryAfter).toBeLessThanOrEqual(45);
      const body = (await res.json()) as { error: { code: string; requestId: string } };
      expect(body.error.code).toBe('influx_unavailable');
      expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
      expect(body).not.toHaveProperty('results');
      // The device still counts as seen: the site is not silent, our storage is down.
      expect((await down.registry.authenticateDevice(down.token))?.device.lastSeenAt).toBe(NOW);
      expect(down.logs.some((l) => l.includes('InfluxDB unavailable'))).toBe(true);
    } finally {
      await down.cleanup();
    }
  });
});
