// Fault test: the collector writes a batch to InfluxDB but its acknowledgement never reaches the agent (a
// proxy relays the request and cuts the connection at the first byte of the answer). The agent keeps the
// batch and sends it again; InfluxDB must hold each result once.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Result } from '../protocol/results.ts';
import { DurableQueue } from '../agent/queue/durable-queue.ts';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';
import { eventually, killAll } from './support/processes.ts';
import { createStack, DRAIN_CONFIG, FAST_AGENT_CONFIG, queueDrained, queuedIds, type Stack } from './support/stack.ts';

const DROPS = 5;
const influxUrl = inject('influxUrl');
const db = uniqueTestDb('acklost');
let stack: Stack;
let proxy: FaultProxy;

beforeAll(async () => {
  await createDb(influxUrl, db);
  stack = await createStack({ influxUrl, db, siteCode: 'ACK-LOST' });
  await stack.startCollector();
  proxy = await startFaultProxy(Number(new URL(stack.collectorUrl).port), 'drop_response');
});
afterAll(async () => {
  await proxy?.close();
  await killAll();
  stack?.cleanup();
});

const storedIds = async () => (await influxQuery(influxUrl, db, `SELECT result_id FROM /.*/ WHERE site = 'ACK-LOST'`)).map((r) => String(r.result_id));

describe('the collector writes a batch but the acknowledgement is lost', () => {
  it('the agent resends: duplicates = 0, lost = 0', async () => {
    const dataDir = await stack.enrollAgent('agent');
    const agent = stack.startAgent(dataDir, `collectorUrl: ${proxy.url}\n${FAST_AGENT_CONFIG}`);
    await eventually(() => (proxy.droppedResponses >= DROPS ? true : undefined), 60_000, `${DROPS} answers dropped`);
    // Written but unacknowledged: InfluxDB has them while the agent's queue still holds them.
    const writtenUnacked = (await storedIds()).length;
    proxy.mode = 'forward';
    await eventually(() => (agent.lines.some((l) => /upload failed/.test(l)) && proxy.connections.forward > 0 ? true : undefined), 30_000, 'a delivery through the repaired proxy');
    await eventually(async () => {
      const stored = new Set(await storedIds());
      return queuedIds(agent).every((id) => stored.has(id)) ? true : undefined;
    }, 60_000, 'every queued result to be stored');
    await agent.kill('SIGTERM');
    // What the stop queued after that is delivered by an agent that only drains (directly to the collector).
    const drain = stack.startAgent(dataDir, DRAIN_CONFIG);
    await eventually(async () => (drain.lines.some((l) => l.includes('"result queued"')) && queuedIds(drain).length > 0 ? true : undefined), 30_000, 'the drain to start');
    const queued = new Set([...queuedIds(agent), ...queuedIds(drain)]);
    await eventually(async () => {
      const stored = new Set(await storedIds());
      return [...queued].every((id) => stored.has(id)) && queueDrained(drain) ? true : undefined;
    }, 60_000, 'the rest to be stored and acknowledged');
    await drain.kill('SIGTERM');

    const stored = await storedIds();
    const duplicates = stored.length - new Set(stored).size;
    const lost = [...queued].filter((id) => !stored.includes(id));
    console.log(`[ack-lost] answers dropped=${proxy.droppedResponses} results written but unacknowledged=${writtenUnacked} queued=${queued.size} points=${stored.length} duplicates=${duplicates} lost=${lost.length}`);
    expect(proxy.droppedResponses).toBeGreaterThanOrEqual(DROPS);
    expect(writtenUnacked).toBeGreaterThan(0);
    expect(duplicates).toBe(0);
    expect(lost).toEqual([]);
    const queue = DurableQueue.open<Result>({ dir: join(dataDir, 'queue'), maxBytes: 50 * 2 ** 20 });
    expect(queue.stats().depth).toBe(0);
    queue.close();
  }, 240_000);
});
