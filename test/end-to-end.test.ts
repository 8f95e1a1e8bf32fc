// Agent → durable queue → collector → InfluxDB as real processes, including outages of InfluxDB and of the
// collector. Every figure is counted in InfluxDB itself.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableQueue } from '../agent/queue/durable-queue.ts';
import type { Result } from '../protocol/results.ts';
import { startInfluxd, type InfluxServer } from '../scripts/influxd-server.ts';
import { influxQuery } from './support/influx-query.ts';
import { eventually, killAll, type Tracked } from './support/processes.ts';
import { createStack, DRAIN_CONFIG, queueDrained, queuedIds, type Stack } from './support/stack.ts';

const DB = 'e2e';
let influx: InfluxServer;
let stack: Stack;
let agentDir: string;
let agent: Tracked;

async function storedIds(): Promise<string[]> {
  const rows = await influxQuery(influx.url, DB, `SELECT result_id FROM /.*/ WHERE site = '${stack.siteCode}'`);
  return rows.map((r) => String(r.result_id));
}

beforeAll(async () => {
  // Its own InfluxDB: this file stops and starts it.
  influx = await startInfluxd({ databases: [DB] });
  stack = await createStack({ influxUrl: influx.url, db: DB });
  await stack.startCollector();
  agentDir = await stack.enrollAgent('agent-1');
  agent = stack.startAgent(agentDir);
});

afterAll(async () => {
  await killAll();
  await influx?.stop();
  stack?.cleanup();
});

describe('end to end: enrolled agent, collector, real InfluxDB', () => {
  it('stores results with the site tags from the registry and the time they were measured', async () => {
    const row = await eventually(async () => {
      const rows = await influxQuery(influx.url, DB, `SELECT * FROM latency WHERE site = '${stack.siteCode}' LIMIT 1`);
      return rows[0];
    }, 30_000, 'a latency point in InfluxDB');
    expect(row).toMatchObject({ site: stack.siteCode, commune: 'Bản Xèo', operator: 'viettel', link_type: '4g', method: 'tcp_connect', code: 'ok' });
    expect(String(row.device)).toMatch(/^dev_/);
    expect(row.target).toBe(stack.collectorUrl.replace('http://', ''));
    expect(row.sent).toBe(2);
    expect(typeof row.rtt_median_ms).toBe('number');

    // The point's timestamp is the result's measuredAt, to the millisecond: find the queued result by id.
    const id = String(row.result_id);
    const logged = agent.lines.find((l) => l.includes(id) && l.includes('"result queued"'));
    expect(logged).toBeDefined();
    expect(row.time).toBe((JSON.parse(logged!) as { measuredAt: number }).measuredAt);
  });

  // Fault test "InfluxDB down for a while": the collector must not acknowledge what it could not write.
  it('InfluxDB down for a while, then the collector SIGKILLed: results acknowledged to agents but never written = 0, duplicates = 0', async () => {
    await influx.stop({ keepData: true });
    // Results pile up in the agent's queue: the collector answers 503 while InfluxDB is down.
    await eventually(() => (agent.lines.some((l) => /upload failed.*503/.test(l)) ? true : undefined), 20_000, 'a 503 from the collector');
    const before = queuedIds(agent).length;
    await eventually(() => (queuedIds(agent).length >= before + 5 ? true : undefined), 20_000, 'results queued during the InfluxDB outage');

    await stack.stopCollector('SIGKILL');
    await eventually(() => (agent.lines.some((l) => /collector unreachable/.test(l)) ? true : undefined), 20_000, 'the agent to see the collector gone');
    const duringBoth = queuedIds(agent).length;
    await eventually(() => (queuedIds(agent).length >= duringBoth + 3 ? true : undefined), 20_000, 'results queued while the collector is down');

    await influx.start();
    await stack.startCollector();

    const queued = await eventually(async () => {
      const ids = new Set(queuedIds(agent));
      const stored = new Set(await storedIds());
      return [...ids].every((id) => stored.has(id)) ? ids : undefined;
    }, 60_000, 'every queued result to be stored');
    // Results queued between that check and the stop wait on disk; an agent restarted without probes delivers them.
    await agent.kill('SIGTERM');
    const drain = stack.startAgent(agentDir, DRAIN_CONFIG);
    const finalQueued = new Set([...queuedIds(agent), ...queuedIds(drain)]);
    await eventually(async () => {
      for (const id of queuedIds(drain)) finalQueued.add(id);
      const stored = new Set(await storedIds());
      return [...finalQueued].every((id) => stored.has(id)) && drain.lines.some((l) => l.includes('"result queued"')) && queueDrained(drain) ? true : undefined;
    }, 30_000, 'results left in the queue at the stop to be stored');
    await drain.kill('SIGTERM');

    const stored = await storedIds();
    // The agent's queue is empty: every queued result was acknowledged, so a queued result missing from
    // InfluxDB would be one acknowledged but never written.
    const queue = DurableQueue.open<Result>({ dir: join(agentDir, 'queue'), maxBytes: 50 * 2 ** 20 });
    expect(queue.stats().depth).toBe(0);
    queue.close();
    const lost = [...finalQueued].filter((id) => !stored.includes(id));
    const duplicated = stored.length - new Set(stored).size;
    expect(queued.size).toBeGreaterThan(before + 8);
    expect(lost).toEqual([]);
    expect(duplicated).toBe(0);
    expect(stored.length).toBe(finalQueued.size);
  });
});
