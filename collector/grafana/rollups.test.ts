// Rollups against the real InfluxDB: created once, idempotent, outdated queries replaced, and the continuous
// queries' SELECT ... INTO produces the expected hourly points.
import { Point } from '@influxdata/influxdb-client';
import { describe, expect, inject, it } from 'vitest';
import { createDb, influxQuery, uniqueTestDb } from '../../test/support/influx-query.ts';
import { loadConfig } from '../config.ts';
import { createInfluxWriter } from '../influx/writer.ts';
import { backfillRollups, CQ_PREFIX, cqName, ensureRollups, ROLLUP_RP, ROLLUPS, startRollupCatchUp } from './rollups.ts';
import { strongToken } from '../../test/support/secrets.ts';

const influxUrl = inject('influxUrl');
const HOUR = 3_600_000;

async function setup() {
  const db = uniqueTestDb('rollups');
  await createDb(influxUrl, db);
  return { db, writer: createInfluxWriter({ url: influxUrl, database: db, timeoutMs: 10_000 }) };
}

describe('ensureRollups', () => {
  it('creates the retention policy and one continuous query per rollup, and is idempotent', async () => {
    const { db, writer } = await setup();
    const first = await ensureRollups(writer);
    expect(first).toMatchObject({ ok: true, dropped: [] });
    expect(first.created.sort()).toEqual(ROLLUPS.map(cqName).sort());

    const rps = await influxQuery(influxUrl, db, `SHOW RETENTION POLICIES ON "${db}"`);
    expect(rps.find((r) => r.name === ROLLUP_RP)).toMatchObject({ duration: '19200h0m0s' });
    const cqs = (await influxQuery(influxUrl, db, 'SHOW CONTINUOUS QUERIES')).filter((r) => String(r.name).startsWith(CQ_PREFIX) && String(r.query).includes(db));
    expect(cqs.map((r) => r.name).sort()).toEqual(ROLLUPS.map(cqName).sort());
    expect(String(cqs[0]!.query)).toMatch(/RESAMPLE EVERY 1h FOR 2h/);

    expect(await ensureRollups(writer)).toEqual({ ok: true, created: [], dropped: [] });
  });

  it('drops its own outdated continuous queries, leaves others alone, and corrects the policy duration', async () => {
    const { db, writer } = await setup();
    await writer.query(`CREATE RETENTION POLICY "${ROLLUP_RP}" ON "${db}" DURATION 30d REPLICATION 1`);
    await writer.query(`CREATE CONTINUOUS QUERY "${CQ_PREFIX}latency_1h_v0" ON "${db}" BEGIN SELECT mean(rtt_median_ms) INTO "${ROLLUP_RP}"."old" FROM latency GROUP BY time(1h) END`);
    await writer.query(`CREATE CONTINUOUS QUERY "operator_own" ON "${db}" BEGIN SELECT count(sent) INTO "mine" FROM latency GROUP BY time(1d) END`);
    const status = await ensureRollups(writer);
    expect(status.dropped).toEqual([`${CQ_PREFIX}latency_1h_v0`]);
    const names = (await influxQuery(influxUrl, db, 'SHOW CONTINUOUS QUERIES')).filter((r) => String(r.query).includes(db)).map((r) => r.name);
    expect(names).toContain('operator_own');
    const rp = (await influxQuery(influxUrl, db, `SHOW RETENTION POLICIES ON "${db}"`)).find((r) => r.name === ROLLUP_RP);
    expect(rp?.duration).toBe('19200h0m0s');
  });

  it('reports failure without throwing when InfluxDB cannot run it (as on 2.x/3.x)', async () => {
    const writer = createInfluxWriter({ url: 'http://127.0.0.1:9', database: 'nowhere', timeoutMs: 1000 });
    const status = await ensureRollups(writer);
    expect(status.ok).toBe(false);
    expect(status.error).toBeTruthy();
  });

  it('is switched off by SONGCHECK_INFLUX_ROLLUPS=false and on by default', () => {
    const env = { SONGCHECK_INFLUX_URL: 'http://127.0.0.1:8086', SONGCHECK_ADMIN_TOKEN: strongToken(), SONGCHECK_TEST_TOKEN_KEY: strongToken() };
    expect(loadConfig(env).influx.rollups).toBe(true);
    expect(loadConfig({ ...env, SONGCHECK_INFLUX_ROLLUPS: 'false' }).influx.rollups).toBe(false);
    expect(() => loadConfig({ ...env, SONGCHECK_INFLUX_ROLLUPS: 'maybe' })).toThrow(/SONGCHECK_INFLUX_ROLLUPS: must be true or false/);
  });
});

describe('the rollup queries', () => {
  it('produce hourly points per site with the aggregated fields', async () => {
    const { db, writer } = await setup();
    await ensureRollups(writer);
    const t0 = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;
    const lat = (site: string, at: number, sent: number, received: number, rtt: number) =>
      new Point('latency').tag('site', site).tag('operator', 'viettel').tag('method', 'tcp_connect').tag('code', 'ok')
        .floatField('sent', sent).floatField('received', received).floatField('rtt_median_ms', rtt).floatField('rtt_p95_ms', rtt * 2).floatField('jitter_ms', 3).timestamp(at);
    await writer.write([
      lat('A', t0 + 60_000, 10, 10, 40), lat('A', t0 + 120_000, 10, 5, 60), lat('A', t0 + 180_000, 10, 10, 50),
      lat('B', t0 + HOUR + 60_000, 10, 10, 100),
      new Point('throughput').tag('site', 'A').tag('direction', 'download').tag('method', 'ndt7').tag('code', 'ok').floatField('mbps', 12).floatField('budget_bytes', 1000).timestamp(t0 + 1000),
      new Point('throughput').tag('site', 'A').tag('direction', 'download').tag('method', 'ndt7').tag('code', 'timeout').floatField('budget_bytes', 50).timestamp(t0 + 2000),
      new Point('uptime').tag('site', 'A').floatField('observed_s', 900).floatField('up_s', 450).floatField('checks', 15).floatField('checks_up', 8).timestamp(t0),
    ]);
    await backfillRollups(writer, t0, t0 + 3 * HOUR);
    const latency = await influxQuery(influxUrl, db, `SELECT * FROM "${ROLLUP_RP}"."latency_1h" GROUP BY "site"`);
    expect(latency.map((r) => [r.tags.site, r.time, r.sent, r.received, r.results, r.rtt_median_ms, r.rtt_p95_ms, r.jitter_ms, r.operator, r.method])).toEqual([
      ['A', t0, 30, 25, 3, 50, 120, 3, 'viettel', 'tcp_connect'],
      ['B', t0 + HOUR, 10, 10, 1, 100, 200, 3, 'viettel', 'tcp_connect'],
    ]);
    // The daily level, from the hourly one: sums of sums, mean of the hourly medians.
    const daily = await influxQuery(influxUrl, db, `SELECT sent, received, results, rtt_median_ms FROM "${ROLLUP_RP}"."latency_1d" WHERE site = 'A'`);
    expect(daily.map((r) => [r.time % 86_400_000, r.sent, r.received, r.results, r.rtt_median_ms])).toEqual([[0, 30, 25, 3, 50]]);
    // The area level (no site tag): what the commune and operator tables read. Its sums and counts give exactly
    // the mean of the sites' daily values (A 50, B 100), whichever days they fell on.
    const area = await influxQuery(influxUrl, db, `SELECT sum(rtt_sum) / sum(rtt_n) AS rtt, sum(jitter_sum) / sum(jitter_n) AS jitter, sum(sent) AS sent, sum(received) AS received FROM "${ROLLUP_RP}"."latency_area_1d" WHERE method = 'tcp_connect' GROUP BY "operator"`);
    expect(area.map((r) => [r.tags.operator, r.rtt, r.jitter, r.sent, r.received])).toEqual([['viettel', 75, 3, 40, 35]]);
    const upArea = await influxQuery(influxUrl, db, `SELECT sum(up_s) AS up_s, sum(observed_s) AS observed_s FROM "${ROLLUP_RP}"."uptime_area_1d"`);
    expect(upArea.map((r) => [r.up_s, r.observed_s])).toEqual([[450, 900]]);
    // Only successful tests count; the failed one's budget bytes do not leak into the ok rollup.
    const tp = await influxQuery(influxUrl, db, `SELECT mbps_median, tests, budget_bytes, direction FROM "${ROLLUP_RP}"."throughput_1h"`);
    expect(tp.map((r) => [r.mbps_median, r.tests, r.budget_bytes, r.direction])).toEqual([[12, 1, 1000, 'download']]);
    const up = await influxQuery(influxUrl, db, `SELECT observed_s, up_s, slots FROM "${ROLLUP_RP}"."uptime_1h"`);
    expect(up.map((r) => [r.observed_s, r.up_s, r.slots])).toEqual([[900, 450, 1]]);
  });
});

describe('the hourly catch-up', () => {
  it('rolls up results delivered after the continuous queries looked at their hour', async () => {
    const { db, writer } = await setup();
    await ensureRollups(writer);
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    const late = now - 20 * HOUR + 60_000;
    await writer.write([new Point('uptime').tag('site', 'LATE').floatField('observed_s', 900).floatField('up_s', 300).floatField('checks', 15).floatField('checks_up', 5).timestamp(late)]);
    const stop = startRollupCatchUp(writer, { everyMs: 50, clock: () => now });
    try {
      let rows: Awaited<ReturnType<typeof influxQuery>> = [];
      for (let i = 0; i < 100 && rows.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        rows = await influxQuery(influxUrl, db, `SELECT up_s FROM "${ROLLUP_RP}"."uptime_1h" WHERE site = 'LATE'`);
      }
      expect(rows.map((r) => [r.time, r.up_s])).toEqual([[now - 20 * HOUR, 300]]);
    } finally {
      await stop();
    }
  });
});
