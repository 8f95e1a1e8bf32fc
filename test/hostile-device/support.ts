// Shared by the hostile-device suite (issue 14): the real collector app over a registry on disk and the real
// InfluxDB, one enrolled device, and the helpers each case needs to post what an attacker would post.
import { randomUUID } from 'node:crypto';
import { createTestCollector, type TestCollector } from '../support/collector-app.ts';
import { createDb, influxQuery, uniqueTestDb } from '../support/influx-query.ts';

export const NOW = Date.UTC(2025, 8, 1, 9);

export interface HostileStack {
  tc: TestCollector;
  db: string;
  influxUrl: string;
  post(results: unknown[], extra?: Record<string, unknown>): Promise<{ status: number; body: { stored: number; rejected: number; results: { index: number; status: string; reason?: string }[] } }>;
  query(q: string): ReturnType<typeof influxQuery>;
}

export async function hostileStack(influxUrl: string, name: string, opts: Parameters<typeof createTestCollector>[0]['app'] & { clock?: () => number } = {}): Promise<HostileStack> {
  const db = uniqueTestDb(name);
  await createDb(influxUrl, db);
  const { clock, ...app } = opts;
  const tc = createTestCollector({
    influxUrl, db, clock: clock ?? (() => NOW),
    app: { limits: { device: { burst: 1e9, perSecond: 1e9 }, authFailures: { burst: 1e9, perSecond: 1e9 } }, ...app },
  });
  return {
    tc, db, influxUrl,
    async post(results, extra = {}) {
      const res = await tc.app.request('/api/v1/measurements', { method: 'POST', headers: tc.auth(), body: JSON.stringify({ ...extra, results }) });
      return { status: res.status, body: (await res.json()) as never };
    },
    query: (q) => influxQuery(influxUrl, db, q),
  };
}

/** An honest TCP latency result; `over` replaces any part. */
export function tcpResult(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: randomUUID(), probe: 'tcp', target: 'collector.example.vn:443', measuredAt: NOW - 60_000, code: 'ok',
    fields: { sent: 5, received: 5, loss_pct: 0, rtt_median_ms: 41.5 },
    ...over,
  };
}
