// Reading InfluxDB back in tests, through the v1 /query endpoint (InfluxQL, JSON, epoch=ms): the same API
// InfluxDB 1.x, 2.x and 3.x serve. Tests isolate from each other by database name (uniqueTestDb).
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { createInfluxDatabase, postInfluxQL } from '../../scripts/influxql-client.ts';

/** One point: `time` in ms since the epoch, each column by name, and the series' tags (GROUP BY / SHOW). */
export interface InfluxRow {
  time: number;
  tags: Record<string, string>;
  [column: string]: unknown;
}

const seriesSchema = z.object({
  name: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  columns: z.array(z.string()),
  values: z.array(z.array(z.unknown())).optional(),
});
const responseSchema = z.object({
  results: z.array(z.object({ series: z.array(seriesSchema).optional() })),
});

/**
 * Runs InfluxQL against database `db` and returns every row of every series of every statement, in order.
 * Throws if InfluxDB reports an error. A query that matches nothing returns [].
 */
export async function influxQuery(url: string, db: string, q: string): Promise<InfluxRow[]> {
  const body = responseSchema.parse(await postInfluxQL(url, q, { db, epoch: 'ms' }));
  const rows: InfluxRow[] = [];
  for (const result of body.results) {
    for (const series of result.series ?? []) {
      for (const values of series.values ?? []) {
        const row: InfluxRow = { time: Number.NaN, tags: { ...series.tags } };
        series.columns.forEach((column, i) => {
          if (column !== 'tags') row[column] = values[i];
        });
        // SHOW statements have no time column; NaN says so without pretending a timestamp.
        row.time = typeof row.time === 'number' ? row.time : Number.NaN;
        rows.push(row);
      }
    }
  }
  return rows;
}

/** A database name no other test uses: `${prefix}_<time>_<random>`, safe in InfluxQL without quoting. */
export function uniqueTestDb(prefix = 'test'): string {
  const clean = prefix.replace(/[^A-Za-z0-9_]/g, '_');
  return `${clean}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** CREATE DATABASE "name" (idempotent). */
export function createDb(url: string, name: string): Promise<void> {
  return createInfluxDatabase(url, name);
}
