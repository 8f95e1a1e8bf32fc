// InfluxQL answers as plain rows, and safe literals for the queries the rules build.
import type { QueryResponse } from '../../influx/writer.ts';

export type Row = Record<string, unknown> & { time: number; tags: Record<string, string> };

/** Every row of every series of the first statement, columns by name, series tags attached. */
export function rows(response: QueryResponse): Row[] {
  const result = response.results[0];
  if (result?.error) throw new Error(`InfluxDB: ${result.error}`);
  const out: Row[] = [];
  for (const series of result?.series ?? []) {
    for (const values of series.values) {
      const row: Row = { time: Number.NaN, tags: { ...series.tags } };
      series.columns.forEach((c, i) => (row[c] = values[i]));
      out.push(row);
    }
  }
  return out;
}

/** Rows grouped by their `site` tag (queries use GROUP BY "site"). */
export function bySite(response: QueryResponse): Map<string, Row[]> {
  const map = new Map<string, Row[]>();
  for (const row of rows(response)) {
    const site = row.tags.site;
    if (site === undefined) continue;
    const list = map.get(site) ?? [];
    list.push(row);
    map.set(site, list);
  }
  return map;
}

/** An epoch-ms time literal for InfluxQL (the engine's clock, never the server's now()). */
export const ms = (t: number) => `${Math.floor(t)}ms`;

/** A string literal for InfluxQL: values come from validated config, but quote them properly anyway. */
export const lit = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
