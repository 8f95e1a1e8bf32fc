// The tag grammar and string-field safety, proved against the REAL InfluxDB 1.x server (issue 14, case 1):
// for any result the schema accepts, under any registry identity, the serialised point is one line and
// reads back with exactly the measurement, tags, fields and time intended; for any result it refuses,
// nothing is written. Thousands of cases, fixed seed (docs/data-model.md#tag-grammar).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AGENT_EVENTS, OUTAGE_KINDS, RESULT_CODES, Result, STOP_REASONS, TARGET_PATTERN } from '../protocol/results.ts';
import { storageOf } from '../collector/influx/storage.ts';
import { type DeviceIdentity, normalizeTagValue, resultToPoint, safeStringField, toLine } from '../collector/influx/points.ts';
import { createInfluxWriter } from '../collector/influx/writer.ts';
import { createTestCollector, type TestCollector } from './support/collector-app.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('fuzz_line');
const NOW = Date.UTC(2025, 8, 1, 9);
const writer = createInfluxWriter({ url: influxUrl, database: db, timeoutMs: 10_000 });

beforeAll(() => createDb(influxUrl, db));

// Text that has broken line protocol somewhere: escapes, separators, quotes, line breaks, surrogates.
const nasty = fc.constantFrom(
  '\\', '\\\\', '\\"', '"', '\n', '\r\n', ' ', ',', '=', '\t', '\u0000', '\u2028', '\u0085', '\ud800', '\udc00', '😀',
  'x\nlatency,site=EVIL,device=evil sent=1,received=1,loss_pct=0 1', '\\ ", \\n', 'a\\,b', '#', 'Bản Xèo',
);
const text = (maxLength: number) =>
  fc
    .oneof(
      fc.string({ unit: 'binary', maxLength }),
      fc.string({ unit: fc.constantFrom('\\', '"', '\n', ' ', ',', '=', 'a', '\r', '\u0000', '\ud800'), maxLength }),
      fc.array(nasty, { maxLength: 4 }).map((parts) => parts.join('')),
    )
    .map((s) => s.slice(0, maxLength));
const target = fc.oneof(fc.stringMatching(TARGET_PATTERN), fc.constantFrom('link', 'self', 'https://x.vn/a?b=1,c=2&d', '[::1]:53', 'a=b,c'));
const ms = fc.double({ min: 0, max: 3_600_000, noNaN: true });
const count = fc.integer({ min: 0, max: 1_000_000 });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const common = { target, code: fc.constantFrom(...RESULT_CODES), detail: opt(text(500)) };
const latency = fc.record({ sent: count, received: count, loss_pct: fc.double({ min: 0, max: 100, noNaN: true }), rtt_median_ms: opt(ms), jitter_ms: opt(ms) });
const results: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ ...common, probe: fc.constantFrom('tcp', 'icmp'), fields: latency }),
  fc.record({ ...common, probe: fc.constant('dns'), fields: fc.record({ answers: count, resolve_ms: opt(ms), server: opt(text(100)) }) }),
  fc.record({ ...common, probe: fc.constant('http'), fields: fc.record({ total_ms: opt(ms), status: opt(fc.integer({ min: 0, max: 999 })) }) }),
  fc.record({
    ...common,
    probe: fc.constant('throughput'),
    method: fc.constantFrom('ndt7', 'http_multistream'),
    direction: fc.constantFrom('download', 'upload'),
    fields: fc.record({
      mbps: opt(fc.double({ min: 0, max: 100_000, noNaN: true })), bytes: count, budget_bytes: count, duration_ms: ms, warmup_ms: ms,
      streams: fc.integer({ min: 1, max: 64 }), server: text(200), stopped_early: fc.boolean(), stop_reason: fc.constantFrom(...STOP_REASONS), byte_cap: count,
      // The rate curve: the one string field of a throughput point that is not free text (digits and commas).
      curve_kbps: opt(fc.array(fc.integer({ min: 0, max: 9_999_999 }), { minLength: 1, maxLength: 480 }).map((a) => a.join(','))), boost: opt(fc.boolean()),
    }),
  }),
  fc.record({ ...common, probe: fc.constant('agent_event'), event: fc.constantFrom(...AGENT_EVENTS), fields: fc.record({ reason: opt(text(200)), booted: opt(fc.boolean()) }) }),
  fc.record({
    ...common,
    probe: fc.constant('outage'),
    kind: fc.constantFrom(...OUTAGE_KINDS),
    fields: fc.record({ end_at: fc.constant(NOW), duration_s: fc.double({ min: 0, max: 86_400, noNaN: true }), checks_failed: count, ended_by: fc.constantFrom('recovered', 'device_off') }),
  }),
);
// Registry data (an operator typed it): any text at all.
const identity: fc.Arbitrary<DeviceIdentity> = fc.record({
  deviceId: fc.oneof(fc.constant('dev_0123456789'), text(40)),
  site: fc.record({ code: fc.oneof(fc.constant('LC-001'), text(30)), commune: opt(text(60)), operator: opt(text(30)), linkType: opt(fc.constantFrom('4g', '5g', 'fiber')) }),
});

/** What InfluxDB must hand back for `result` written under `who`: every column of SELECT *, null when absent. */
function intended(result: Result, who: DeviceIdentity): { measurement: string; row: Record<string, unknown> } {
  const storage = storageOf(result);
  const row: Record<string, unknown> = { time: result.measuredAt, target: result.target, code: result.code, method: storage.method, result_id: result.id };
  const tags: [string, string | undefined][] = [['site', who.site.code], ['device', who.deviceId], ['commune', who.site.commune], ['operator', who.site.operator], ['link_type', who.site.linkType]];
  for (const [name, value] of tags) {
    const clean = normalizeTagValue(value);
    if (clean !== undefined) row[name] = clean;
  }
  for (const [name, value] of storage.tags ?? []) row[name] = value;
  for (const [name, value] of Object.entries(result.fields as Record<string, unknown>)) {
    if (value !== undefined) row[name] = typeof value === 'string' ? safeStringField(value) : value;
  }
  if (result.detail !== undefined) row.detail = safeStringField(result.detail);
  return { measurement: storage.measurement, row };
}

describe('line protocol against the real InfluxDB 1.x', () => {
  let run = 0;

  it('writes every result the schema accepts as one line that reads back exactly as intended', async () => {
    const expected = new Map<string, { measurement: string; row: Record<string, unknown> }>();
    await fc.assert(
      fc.asyncProperty(identity, fc.array(results, { minLength: 1, maxLength: 4 }), async (who, raw) => {
        run++;
        const accepted: Result[] = [];
        raw.forEach((r, i) => {
          // Unique time per result: two results of one series and time would be one point.
          const parsed = Result.safeParse({ ...r, id: `lp${run}x${i}zz`, measuredAt: NOW + run * 10 + i });
          if (parsed.success) accepted.push(parsed.data);
        });
        fc.pre(accepted.length > 0);
        const points = accepted.map((r) => resultToPoint(r, who));
        for (const point of points) expect(toLine(point).split('\n')).toHaveLength(1);
        await writer.write(points);
        for (const result of accepted) expected.set(result.id, intended(result, who));
      }),
      { numRuns: 1500, seed: 20261207 },
    );
    expect(expected.size).toBeGreaterThan(2000);
    // Read back once at the end (a query per case would scan every series the cases made).
    const measurements = new Set([...expected.values()].map((e) => e.measurement));
    const shown = (await influxQuery(influxUrl, db, 'SHOW MEASUREMENTS')).map((r) => r.name);
    expect(new Set(shown)).toEqual(measurements);
    const mismatches: unknown[] = [];
    let points = 0;
    for (const measurement of measurements) {
      for (const got of await influxQuery(influxUrl, db, `SELECT * FROM "${measurement}"`)) {
        points++;
        const actual: Record<string, unknown> = {};
        for (const [column, value] of Object.entries(got)) if (column !== 'tags' && value !== null) actual[column] = value;
        const want = expected.get(String(got.result_id));
        if (!want || want.measurement !== measurement || JSON.stringify(sorted(actual)) !== JSON.stringify(sorted(want.row))) {
          mismatches.push({ measurement, actual, want });
        }
      }
    }
    expect(mismatches.slice(0, 3)).toEqual([]);
    // Nothing beyond what was intended: no extra point that a result's text smuggled in.
    expect(points).toBe(expected.size);
  }, 600_000);
});

function sorted(row: Record<string, unknown>): [string, unknown][] {
  return Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1));
}

describe('results the schema refuses, through the real collector', () => {
  const refusedDb = uniqueTestDb('fuzz_refused');
  let tc: TestCollector;
  beforeAll(async () => {
    await createDb(influxUrl, refusedDb);
    tc = createTestCollector({ influxUrl, db: refusedDb, clock: () => NOW, app: { limits: { device: { burst: 1e9, perSecond: 1e9 }, authFailures: { burst: 1e9, perSecond: 1e9 } } } });
  });
  afterAll(() => tc?.cleanup());

  it('writes nothing for a refused result, whatever its target and text say', async () => {
    let refused = 0;
    let run = 0;
    const hostileTarget = fc.oneof(text(220), fc.constantFrom('x\nlatency,site=EVIL sent=1 1', 'a\\', 'a b', 'a"b', "a'b", 'x,site=EVIL\\'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(results, hostileTarget), { minLength: 1, maxLength: 4 }), async (items) => {
        run++;
        const batch = items.map(([r, t], i) => ({ ...r, target: t, id: `rf${run}x${i}zz`, measuredAt: NOW - run * 10 - i }));
        const res = await tc.app.request('/api/v1/measurements', { method: 'POST', headers: tc.auth(), body: JSON.stringify({ results: batch }) });
        expect(res.status).toBe(200);
        const acks = ((await res.json()) as { results: { index: number; status: string }[] }).results;
        const stored = new Set(acks.filter((a) => a.status === 'stored').map((a) => batch[a.index]!.id));
        for (const a of acks) if (a.status === 'rejected') refused++;
        for (const [i, item] of batch.entries()) expect(acks[i]!.status === 'stored').toBe(Result.safeParse(item).success);
        const back = await influxQuery(influxUrl, refusedDb, `SELECT result_id FROM /.*/ WHERE time > ${NOW - run * 10 - 10}ms AND time <= ${NOW - run * 10}ms`);
        expect(new Set(back.map((b) => b.result_id))).toEqual(stored);
      }),
      { numRuns: 700, seed: 20261208 },
    );
    expect(refused).toBeGreaterThan(500);
    const sites = await influxQuery(influxUrl, refusedDb, 'SHOW TAG VALUES FROM /.*/ WITH KEY = "site"');
    expect(new Set(sites.map((r) => r.value))).toEqual(new Set(['LC-001']));
  }, 600_000);
});
