// The engine computes medians, p95 and means itself (queries.ts explains why); they must equal what
// InfluxDB's own median(), percentile() and mean() give on the same values.
import { Point } from '@influxdata/influxdb-client';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, uniqueTestDb } from '../../test/support/influx-query.ts';
import { createInfluxWriter } from '../influx/writer.ts';
import { outageMsInSchool, summarise } from './queries.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('compliance_stats');
const writer = createInfluxWriter({ url: influxUrl, database: db, timeoutMs: 10_000 });
const T0 = Date.UTC(2026, 10, 2);

// Deterministic values with ties, odd and even counts.
const SETS: number[][] = [[5], [4, 20, 20, 30], [1, 2, 3], ...Array.from({ length: 12 }, (_, k) => Array.from({ length: 7 + k * 9 }, (_, i) => Math.round(((i * 7919 + k * 104729) % 1000) / 7) / 10))];

beforeAll(async () => {
  await createDb(influxUrl, db);
  await writer.write(SETS.flatMap((set, k) => set.map((x, i) => new Point('v').tag('set', String(k)).floatField('x', x).timestamp(T0 + i * 1000))));
});

describe('summarise', () => {
  it('matches InfluxDB median(), percentile(x, 95) and mean() exactly', async () => {
    const r = await writer.query(`SELECT median(x), percentile(x, 95), mean(x), count(x) FROM v GROUP BY "set"`);
    const series = r.results[0]!.series!;
    expect(series).toHaveLength(SETS.length);
    for (const s of series) {
      const [, median, p95, mean, count] = s.values[0] as number[];
      const mine = summarise(SETS[Number(s.tags!.set)]!)!;
      expect(mine.count).toBe(count);
      expect(mine.median).toBe(median);
      expect(mine.p95).toBe(p95);
      expect(mine.mean).toBeCloseTo(mean!, 9);
    }
  });

  it('counts tests at or above each floor, the floor included', () => {
    expect(summarise([4, 5, 5, 6, 10], [5, 6, 11])!.atLeast).toEqual({ '5': 4, '6': 2, '11': 0 });
    expect(summarise([])).toBeUndefined();
  });

  it('clips outages to school hours and merges overlapping ones', () => {
    const school = [{ start: 100, end: 200 }, { start: 300, end: 400 }];
    expect(outageMsInSchool([{ start: 50, end: 150 }, { start: 120, end: 180 }, { start: 190, end: 350 }], school)).toBe(80 + 10 + 50);
  });
});
