// The agent killed with SIGKILL in the middle of work, again and again: nothing that reached the queue is
// lost, nothing is stored twice.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Result } from '../protocol/results.ts';
import { DurableQueue } from '../agent/durable-queue.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';
import { eventually, killAll, type Tracked } from './support/processes.ts';
import { createStack, DRAIN_CONFIG, queuedIds, type Stack } from './support/stack.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('sigkill');
let stack: Stack;

beforeAll(async () => {
  await createDb(influxUrl, db);
  stack = await createStack({ influxUrl, db, siteCode: 'KILL-01' });
  await stack.startCollector();
});
afterAll(async () => {
  await killAll();
  stack?.cleanup();
});

describe('agent killed with SIGKILL mid-work', () => {
  it('loses nothing that was written to the queue and stores nothing twice, over 6 kills', async () => {
    const dataDir = await stack.enrollAgent('agent');
    const runs: Tracked[] = [];
    for (let i = 0; i < 6; i++) {
      const agent = stack.startAgent(dataDir);
      runs.push(agent);
      await agent.waitForLine(/agent started/, 20_000);
      // Kill at a random moment of its work: while probing, appending or uploading.
      await new Promise((r) => setTimeout(r, 800 + Math.random() * 2_200));
      await agent.kill('SIGKILL');
    }
    const drain = stack.startAgent(dataDir, DRAIN_CONFIG);
    runs.push(drain);
    const queued = () => new Set(runs.flatMap(queuedIds));
    const storedIds = async () =>
      (await influxQuery(influxUrl, db, `SELECT result_id FROM /.*/ WHERE site = 'KILL-01'`)).map((r) => String(r.result_id));
    await eventually(async () => {
      const stored = new Set(await storedIds());
      return [...queued()].every((id) => stored.has(id)) && queuedIds(drain).length > 0 ? true : undefined;
    }, 60_000, 'every queued result to be stored');
    await drain.kill('SIGTERM');

    const stored = await storedIds();
    const ids = queued();
    expect(ids.size).toBeGreaterThan(15);
    expect([...ids].filter((id) => !stored.includes(id))).toEqual([]);
    expect(stored.length - new Set(stored).size).toBe(0);

    // The queue the kills left behind is whole: nothing corrupt, nothing pending.
    const queue = DurableQueue.open<Result>({ dir: join(dataDir, 'queue'), maxBytes: 50 * 2 ** 20 });
    expect(queue.stats()).toMatchObject({ depth: 0, skippedCorruptTotal: 0 });
    queue.close();
  });
});
