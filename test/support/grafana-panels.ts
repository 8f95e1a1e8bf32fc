// Reads the committed dashboards as Grafana loads them, and resolves their variables and macros against a real
// InfluxDB the way Grafana would, so tests and the bench run each panel's query exactly as sent.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { grafanaInterval, renderQuery, type VariableValue } from '../../dashboards/src/macros.ts';
import { influxQuery, type InfluxRow } from './influx-query.ts';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const DASHBOARD_FILES = ['province', 'site', 'operators', 'fleet'] as const;

const Target = z.object({ refId: z.string(), query: z.string(), rawQuery: z.literal(true), resultFormat: z.enum(['time_series', 'table']), datasource: z.object({ uid: z.string() }) });
const Panel = z.object({ id: z.number(), type: z.string(), title: z.string(), description: z.string(), interval: z.string().optional(), datasource: z.object({ uid: z.string() }), targets: z.array(Target), fieldConfig: z.unknown() });
const Variable = z.object({ name: z.string(), query: z.string(), multi: z.boolean(), includeAll: z.boolean(), allValue: z.string().optional(), datasource: z.object({ uid: z.string() }) });
export const Dashboard = z.object({
  uid: z.string(),
  title: z.string(),
  time: z.object({ from: z.string(), to: z.literal('now') }),
  templating: z.object({ list: z.array(Variable) }),
  links: z.array(z.object({ type: z.string(), url: z.string().optional() })),
  panels: z.array(Panel),
});
export type Dashboard = z.infer<typeof Dashboard>;
export type Panel = z.infer<typeof Panel>;

export function loadDashboards(): Dashboard[] {
  return DASHBOARD_FILES.map((name) => Dashboard.parse(JSON.parse(readFileSync(`${REPO}dashboards/${name}.json`, 'utf8'))));
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, s: 1000 };
/** `now-30d` → ms before now. */
export function relativeMs(expr: string): number {
  const m = /^now-(\d+)([smhd])$/.exec(expr);
  if (!m) throw new Error(`unsupported relative time ${expr}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/**
 * Resolves the dashboard's variables in order by running their queries (so a broken variable query fails too).
 * `pick` selects values for a variable; the default is All (or the first value when All is not offered).
 */
export async function resolveVariables(url: string, db: string, d: Dashboard, pick: Record<string, string[]> = {}): Promise<Record<string, VariableValue & { options: string[] }>> {
  const resolved: Record<string, VariableValue & { options: string[] }> = {};
  const ctx = { fromMs: 0, toMs: Date.now(), intervalMs: 60_000, variables: resolved };
  for (const v of d.templating.list) {
    const rows = await influxQuery(url, db, renderQuery(v.query, ctx));
    const options = rows.map((r) => String(r.value));
    const chosen = pick[v.name];
    resolved[v.name] = chosen
      ? { values: chosen, options }
      : v.includeAll
        ? { values: options, all: true, allValue: v.allValue, options }
        : { values: options.slice(0, 1), options };
  }
  return resolved;
}

export async function runTarget(url: string, db: string, d: Dashboard, panel: Panel, query: string, variables: Record<string, VariableValue>, now = Date.now()): Promise<{ q: string; rows: InfluxRow[] }> {
  const range = relativeMs(d.time.from);
  const minInterval = panel.interval ? relativeMs(`now-${panel.interval}`) : 0;
  const q = renderQuery(query, { fromMs: now - range, toMs: now, intervalMs: grafanaInterval(range, { minIntervalMs: Math.max(minInterval, 60_000) }), variables });
  return { q, rows: await influxQuery(url, db, q) };
}
