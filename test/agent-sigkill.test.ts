// Fault test: the agent SIGKILLed at random moments, 50 times (while starting, recovering its queue,
// probing, checking connectivity, appending or uploading). Every result the queue acknowledged (append
// returned; logged "result queued") must reach InfluxDB, and no result may be stored as two points.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Result } from '../protocol/results.ts';
import { DurableQueue } from '../agent/queue/durable-queue.ts';
import { buildAgent } from '../scripts/build-agent.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';
import { eventually, killAll, type Tracked } from './support/processes.ts';
import { createStack, DRAIN_CONFIG, FAST_AGENT_CONFIG, queuedIds, type Stack } from './support/stack.ts';

const KILLS = 50;
const influxUrl = inject('influxUrl');
const db = uniqueTestDb('sigkill');
let stack: Stack;
let bundle: string;

beforeAll(async () => {
  await createDb(influxUrl, db);
  stack = await createStack({ influxUrl, db, siteCode: 'KILL-01' });
  await stack.startCollector();
  // The one-file build (what schools run) starts in a fraction of tsx's time, which keeps 50 kill cycles short.
  bundle = await buildAgent(join(stack.root, 'songcheck-agent.mjs'));
});
afterAll(async () => {
  await killAll();
  stack?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Uptime checks every second, so kills also land in the middle of state-file writes.
const KILL_CONFIG = FAST_AGENT_CONFIG.replace(/connectivity: \{[^\n]*\}/, 'connectivity: { intervalSeconds: 1, timeoutSeconds: 0.3, outsideTargets: ["127.0.0.1:9"], dnsName: localhost }');

describe(`agent SIGKILLed at random moments ${KILLS} times`, () => {
  it('results acknowledged by the queue and then lost = 0; duplicate points in InfluxDB = 0', async () => {
    const dataDir = await stack.enrollAgent('agent', bundle);
    const runs: Tracked[] = [];
    let killedWhileStarting = 0;
    for (let i = 0; i < KILLS; i++) {
      const agent = stack.startAgent(dataDir, KILL_CONFIG, bundle);
      runs.push(agent);
      // One kill in four lands during start-up (loading, queue recovery, uptime state); the rest while working.
      if (Math.random() < 0.25) {
        await sleep(100 + Math.random() * 500);
        if (!agent.lines.some((l) => l.includes('agent started'))) killedWhileStarting++;
      } else {
        await agent.waitForLine(/agent started/, 30_000);
        await sleep(Math.random() * 1_000);
      }
      await agent.kill('SIGKILL');
    }
    const drain = stack.startAgent(dataDir, DRAIN_CONFIG, bundle);
    runs.push(drain);
    const queued = () => new Set(runs.flatMap(queuedIds));
    const stored = async () => (await influxQuery(influxUrl, db, `SELECT result_id FROM /.*/ WHERE site = 'KILL-01'`)).map((r) => String(r.result_id));
    await eventually(async () => {
      const s = new Set(await stored());
      return [...queued()].every((id) => s.has(id)) && queuedIds(drain).length > 0 ? true : undefined;
    }, 90_000, 'every queued result to be stored');
    await drain.kill('SIGTERM');

    const points = await stored();
    const ids = queued();
    const lost = [...ids].filter((id) => !points.includes(id));
    const duplicates = points.length - new Set(points).size;
    console.log(`[sigkill] kills=${KILLS} (during start-up: ${killedWhileStarting}) queued=${ids.size} points=${points.length} lost=${lost.length} duplicates=${duplicates}`);
    expect(ids.size).toBeGreaterThan(KILLS / 2);
    expect(lost).toEqual([]);
    expect(duplicates).toBe(0);
    // The uptime evidence went through the same queue: every restart after a kill is an unclean_stop.
    const events = await influxQuery(influxUrl, db, `SELECT count(result_id) FROM agent_event WHERE site = 'KILL-01' GROUP BY event`);
    const byEvent = Object.fromEntries(events.map((r) => [r.tags.event, Number(r.count)]));
    expect(byEvent.unclean_stop).toBeGreaterThan(KILLS / 2);

    // The queue the kills left behind is whole: nothing corrupt, nothing pending.
    const queue = DurableQueue.open<Result>({ dir: join(dataDir, 'queue'), maxBytes: 50 * 2 ** 20 });
    expect(queue.stats()).toMatchObject({ depth: 0, skippedCorruptTotal: 0 });
    queue.close();
  }, 600_000);
});
