// Property-based fuzzing (fast-check) of the ingest and enrollment bodies against the app with the REAL
// InfluxDB writer: thousands of random and hostile bodies give 0 server errors, 0 crashes, well-formed
// answers only, and 0 stray series: afterwards InfluxDB holds exactly the series the acknowledged results
// make, tagged with the device's own site, and no other measurement, tag key or tag value.
import zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EnrollResponse, ErrorBody, MeasurementBatchResponse } from '../protocol/api.ts';
import { STORAGE } from '../collector/influx/storage.ts';
import { RESULT_CODES } from '../protocol/results.ts';
import { normalizeTagValue } from '../collector/influx/points.ts';
import { createTestCollector, TEST_SITE, type TestCollector } from './support/collector-app.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('fuzz_ingest');
const NOW = Date.UTC(2025, 8, 1, 9);
let tc: TestCollector;
/** Series the acknowledged results must have made: JSON of [measurement, target, code, method]. */
const expectedSeries = new Set<string>();
const counts = { requests: 0, stored: 0, byStatus: new Map<number, number>() };

beforeAll(async () => {
  await createDb(influxUrl, db);
  tc = createTestCollector({
    influxUrl, db, clock: () => NOW,
    app: { limits: { device: { burst: 1e9, perSecond: 1e9 }, authFailures: { burst: 1e9, perSecond: 1e9 } } },
  });
});
afterAll(() => tc.cleanup());

// Strings that have broken line protocol, series keys or parsers somewhere.
const hostile = fc.constantFrom(
  '', ' ', '\n', '\r\n', '\t', '\u0000', '\\', '\\\\', ',', '=', '"', "'", ' , = ',
  'x\nlatency,site=EVIL sent=1 1', 'x,site=EVIL', 'x site=EVIL', 'x\\', 'a\\,b', '#comment',
  'songcheck.example.vn:443', '8.8.8.8', '[::1]:53', 'https://songcheck.example.vn/api/v1/ping',
  '\ud800', '\udc00x', '😀', 'Điểm trường Bản Xèo', '\u202e', '\u0085', '\ufeff', 'x'.repeat(300), '\\'.repeat(201),
  '__proto__', 'constructor', 'toString', 'NaN', 'null', 'undefined',
);
const text = fc.oneof(hostile, fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }));
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -1, 1e308, -1e308, 5e-324, 100, 101, 3_600_000, 3_600_001));
const probe = fc.constantFrom('tcp', 'icmp', 'http', 'dns', 'agent_health', 'device_facts', 'nope', '__proto__');

const fieldsFor = {
  latency: () => fc.record({ sent: fc.nat(10), received: fc.nat(10), loss_pct: fc.double({ min: 0, max: 100, noNaN: true }), rtt_median_ms: fc.double({ min: 0, max: 1000, noNaN: true }) }, { requiredKeys: ['sent', 'received', 'loss_pct'] }),
  anything: () => fc.dictionary(text, fc.oneof(number, text, fc.boolean(), fc.constant(null)), { maxKeys: 5 }),
};

/** A result that is often valid, with hostile text where text goes and hostile values elsewhere. */
const result = fc.record(
  {
    id: fc.oneof(fc.uuid(), fc.stringMatching(/^[0-9A-Za-z_-]{8,64}$/), text),
    probe,
    target: text,
    measuredAt: fc.oneof(fc.integer({ min: NOW - 86_400_000, max: NOW + 1_200_000 }), number),
    code: fc.oneof(fc.constantFrom(...RESULT_CODES), text),
    fields: fc.oneof(fieldsFor.latency(), fieldsFor.anything()),
    detail: text,
    site: text,
    tags: fc.dictionary(text, text, { maxKeys: 2 }),
  },
  { requiredKeys: ['id', 'probe', 'target', 'measuredAt', 'code', 'fields'] },
);

/** A result the schema accepts, with hostile text in its target and detail: what reaches the tags. */
const validResult = fc.oneof(
  fc.record(
    {
      id: fc.uuid(),
      probe: fc.constantFrom('tcp', 'icmp'),
      target: text,
      measuredAt: fc.integer({ min: NOW - 86_400_000, max: NOW + 540_000 }),
      code: fc.constantFrom(...RESULT_CODES),
      fields: fieldsFor.latency(),
      detail: text.filter((t) => t.length <= 500),
    },
    { requiredKeys: ['id', 'probe', 'target', 'measuredAt', 'code', 'fields'] },
  ),
  fc.record({
    id: fc.uuid(),
    probe: fc.constant('dns'),
    target: text,
    measuredAt: fc.integer({ min: NOW - 86_400_000, max: NOW + 540_000 }),
    code: fc.constantFrom(...RESULT_CODES),
    fields: fc.record({ answers: fc.nat(20), resolve_ms: fc.double({ min: 0, max: 5000, noNaN: true }), server: text.filter((t) => t.length <= 100) }, { requiredKeys: ['answers'] }),
  }),
);

const batch = fc.record(
  {
    agentVersion: fc.oneof(text, number),
    sentAt: number,
    results: fc.oneof(
      { weight: 4, arbitrary: fc.array(fc.oneof({ weight: 3, arbitrary: validResult }, { weight: 1, arbitrary: result }), { minLength: 1, maxLength: 6 }) },
      { weight: 1, arbitrary: fc.array(fc.anything(), { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.anything() },
    ),
  },
  { requiredKeys: ['results'] },
);

async function postMeasurements(body: string | Uint8Array, headers: Record<string, string> = {}) {
  const res = await tc.app.request('/api/v1/measurements', { method: 'POST', headers: tc.auth(headers), body: body as BodyInit });
  counts.requests++;
  counts.byStatus.set(res.status, (counts.byStatus.get(res.status) ?? 0) + 1);
  return res;
}

/** Checks the answer's shape and records the series each stored result must have made. */
async function checkAnswer(res: Response, sent: unknown): Promise<void> {
  expect(res.status).toBeLessThan(500);
  const json: unknown = await res.json();
  if (res.status !== 200) {
    expect([400, 413, 415]).toContain(res.status);
    ErrorBody.parse(json);
    return;
  }
  const answer = MeasurementBatchResponse.parse(json);
  const items = (sent as { results: Record<string, unknown>[] }).results;
  expect(answer.results).toHaveLength(items.length);
  for (const ack of answer.results) {
    if (ack.status !== 'stored') continue;
    const item = items[ack.index]!;
    const storage = STORAGE[item.probe as keyof typeof STORAGE];
    const target = normalizeTagValue(item.target as string);
    expectedSeries.add(JSON.stringify([storage.measurement, target ?? '', item.code, storage.method]));
    counts.stored++;
  }
}

describe('fuzzing POST /api/v1/measurements', () => {
  it('answers random and hostile batches with 200 or 400, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(batch, async (b) => {
        const res = await postMeasurements(JSON.stringify(b));
        await checkAnswer(res, b);
      }),
      { numRuns: 2000, seed: 20250901 },
    );
    expect(counts.stored).toBeGreaterThan(100); // the generator reaches the write path, not just the schema
  });

  it('answers arbitrary bytes, JSON values, encodings and gzip garbage with 4xx, never 5xx', async () => {
    const raw = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => ({ body: b, headers: {} })),
      fc.jsonValue().map((v) => ({ body: JSON.stringify(v), headers: {} })),
      fc.uint8Array({ maxLength: 300 }).map((b) => ({ body: b, headers: { 'content-encoding': 'gzip' } })),
      batch.map((b) => ({ body: new Uint8Array(zlib.gzipSync(JSON.stringify(b))), headers: { 'content-encoding': 'gzip' }, sent: b })),
      fc.tuple(fc.uint8Array({ maxLength: 50 }), fc.constantFrom('br', 'deflate', 'gzip, br', 'identity', 'GZIP', ' x-gzip ')).map(([b, e]) => ({ body: b, headers: { 'content-encoding': e } })),
    );
    await fc.assert(
      fc.asyncProperty(raw, async (r) => {
        const res = await postMeasurements(r.body, r.headers);
        expect(res.status).toBeLessThan(500);
        if ('sent' in r && res.status === 200) await checkAnswer(res, r.sent);
        else ErrorBody.or(MeasurementBatchResponse).parse(await res.json());
      }),
      { numRuns: 2000, seed: 20250902 },
    );
  });
});

describe('fuzzing POST /api/v1/enroll', () => {
  it('answers random and hostile enrollment bodies with 201, 400 or 403, and enrols only with a real code', async () => {
    const codes = Array.from({ length: 20 }, () => tc.registry.createEnrollmentCode(TEST_SITE.code).code);
    const devicesBefore = tc.registry.counts().devices;
    let enrolled = 0;
    const body = fc.oneof(
      fc.record(
        { code: fc.oneof(fc.constantFrom(...codes), text, fc.stringMatching(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/)), hostname: text, platform: text, agentVersion: text, fingerprint: text, extra: text },
        { requiredKeys: ['code'] },
      ).map((v) => JSON.stringify(v)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await tc.app.request('/api/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
        expect([201, 400, 403]).toContain(res.status);
        const json: unknown = await res.json();
        if (res.status === 201) {
          EnrollResponse.parse(json);
          enrolled++;
        } else ErrorBody.parse(json);
      }),
      { numRuns: 2000, seed: 20250903 },
    );
    expect(enrolled).toBeGreaterThan(0);
    expect(enrolled).toBeLessThanOrEqual(codes.length);
    expect(tc.registry.counts().devices).toBe(devicesBefore + enrolled);
  });
});

describe('after the fuzzing', () => {
  it('InfluxDB holds exactly the series the stored results make, all tagged with this device and site', async () => {
    const measurements = (await influxQuery(influxUrl, db, 'SHOW MEASUREMENTS')).map((r) => r.name as string);
    // device_flag: the collector's own record of a device beyond its series budget (random targets do that).
    const allowed = new Set([...Object.values(STORAGE).map((s) => s.measurement), 'device_flag']);
    for (const m of measurements) expect(allowed).toContain(m);

    const tagKeys = new Set((await influxQuery(influxUrl, db, 'SHOW TAG KEYS')).map((r) => r.tagKey as string));
    for (const k of tagKeys) expect(['site', 'device', 'commune', 'operator', 'link_type', 'target', 'code', 'method', 'flag']).toContain(k);
    const values = async (key: string) => new Set((await influxQuery(influxUrl, db, `SHOW TAG VALUES WITH KEY = "${key}"`)).map((r) => r.value as string));
    expect(await values('site')).toEqual(new Set([TEST_SITE.code]));
    expect(await values('device')).toEqual(new Set([tc.deviceId]));
    expect(await values('commune')).toEqual(new Set([TEST_SITE.commune]));
    expect(await values('operator')).toEqual(new Set([TEST_SITE.operator]));
    for (const code of await values('code')) expect(RESULT_CODES).toContain(code);

    // One series per distinct (measurement, target, code, method) among the acknowledged results, and no other.
    const series = (await influxQuery(influxUrl, db, 'SHOW SERIES')).filter((r) => !String(r.key).startsWith('device_flag,'));
    expect(series.length).toBe(expectedSeries.size);
    const targets = new Set([...(await values('target'))].filter((t) => t !== undefined));
    const expectedTargets = new Set([...expectedSeries].map((s) => (JSON.parse(s) as string[])[1]!).filter((t) => t !== ''));
    expect(targets).toEqual(expectedTargets);
    console.log(`fuzz: ${counts.requests} ingest requests (${[...counts.byStatus].map(([s, n]) => `${s}: ${n}`).join(', ')}), ${counts.stored} results stored in ${series.length} series`);
  });

  it('logged no unhandled error and no token', () => {
    const logs = tc.logs.join('\n');
    expect(logs).not.toContain('unhandled error');
    expect(logs).not.toContain(tc.token);
  });
});
