// Integration: the agent's uptime evidence (uptime slots, outage intervals, agent events) goes through the
// real collector into real InfluxDB with the measurements and tags docs/data-model.md promises. The outage is
// real too: the collector is stopped while the "outside" target is a closed port, so checks find link_down.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';
import { eventually, killAll } from './support/processes.ts';
import { createStack, DRAIN_CONFIG, FAST_AGENT_CONFIG, queuedIds, type Stack } from './support/stack.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('uptime');
let stack: Stack;

beforeAll(async () => {
  await createDb(influxUrl, db);
  stack = await createStack({ influxUrl, db, siteCode: 'UPTIME-01' });
  await stack.startCollector();
});
afterAll(async () => {
  await killAll();
  stack?.cleanup();
});

// Generous for a loaded 2-core machine: a check's lookup runs in libuv's thread pool, shared with everything else.
const CHECK_EVERY_S = 2;
const CONFIG = FAST_AGENT_CONFIG.replace(/connectivity: \{[^\n]*\}/, `connectivity: { intervalSeconds: ${CHECK_EVERY_S}, timeoutSeconds: 0.9, outsideTargets: ["127.0.0.1:9"], dnsName: localhost }`);
const q = (sql: string) => influxQuery(influxUrl, db, sql);

describe('uptime, outage and agent_event results in InfluxDB', () => {
  it('arrive with their measurement, method, target and kind/event tags, at their original times', async () => {
    const dataDir = await stack.enrollAgent('agent');
    // A first run killed after a few checks: the next start must record unclean_stop.
    const first = stack.startAgent(dataDir, CONFIG);
    await first.waitForLine(/"connectivity check"/, 30_000);
    await first.kill('SIGKILL');

    const agent = stack.startAgent(dataDir, CONFIG);
    await eventually(() => (agent.lines.filter((l) => l.includes('"connectivity check"')).length >= 2 ? true : undefined), 30_000, 'checks');
    // The collector stops answering somewhere between these two moments (a graceful stop takes a while).
    const downFrom = Date.now();
    await stack.stopCollector('SIGTERM');
    const downTo = Date.now();
    await eventually(() => (agent.lines.filter((l) => l.includes('"state":"link_down"')).length >= 3 ? true : undefined), 30_000, 'link_down checks');
    const upFrom = Date.now();
    await stack.startCollector();
    const upTo = Date.now();
    await eventually(async () => ((await q(`SELECT * FROM outage WHERE site = 'UPTIME-01' AND kind = 'link_down'`)).length > 0 ? true : undefined), 60_000, 'the outage point');
    await agent.kill('SIGTERM');
    const drain = stack.startAgent(dataDir, DRAIN_CONFIG);
    const queued = [...queuedIds(first), ...queuedIds(agent)];
    await eventually(async () => {
      const stored = new Set((await q(`SELECT result_id FROM /.*/ WHERE site = 'UPTIME-01'`)).map((r) => String(r.result_id)));
      return queued.every((id) => stored.has(id)) ? true : undefined;
    }, 60_000, 'everything queued, the stop events included, to be stored');
    await drain.kill('SIGTERM');

    // The collector's stop is the link_down outage; a starved check elsewhere could add another kind, so select it.
    const [outage] = await q(`SELECT * FROM outage WHERE site = 'UPTIME-01' AND kind = 'link_down'`);
    expect(outage).toMatchObject({ method: 'connectivity_check', target: 'link', kind: 'link_down', ended_by: 'recovered', site: 'UPTIME-01' });
    // Start and end within one check interval (plus a check's own 0.9 s timeout and 0.5 s of timer lateness) of
    // the window in which the collector went away and came back.
    const interval = CHECK_EVERY_S * 1000;
    expect(outage!.time).toBeGreaterThanOrEqual(downFrom - 900);
    expect(outage!.time).toBeLessThanOrEqual(downTo + interval + 1_400);
    expect(Number(outage!.end_at)).toBeGreaterThanOrEqual(upFrom);
    expect(Number(outage!.end_at)).toBeLessThanOrEqual(upTo + interval + 1_400);
    expect(Number(outage!.checks_failed)).toBeGreaterThanOrEqual(3);

    const events = await q(`SELECT * FROM agent_event WHERE site = 'UPTIME-01'`);
    expect(new Set(events.map((e) => e.event))).toEqual(new Set(['start', 'unclean_stop', 'stop']));
    for (const e of events) expect(e).toMatchObject({ method: 'self', target: 'self' });
    const unclean = events.find((e) => e.event === 'unclean_stop')!;
    expect(unclean.from_at).toBe(unclean.time);
    expect(Number(unclean.to_at)).toBeGreaterThan(Number(unclean.from_at));

    const slots = await q(`SELECT * FROM uptime WHERE site = 'UPTIME-01'`);
    expect(slots.length).toBeGreaterThanOrEqual(1);
    for (const s of slots) {
      expect(s).toMatchObject({ method: 'connectivity_check', target: 'link' });
      expect(s.time % (15 * 60_000)).toBe(0);
    }
    const total = (f: string) => slots.reduce((n, s) => n + Number(s[f]), 0);
    expect(total('checks_link_down')).toBeGreaterThanOrEqual(3);
    expect(total('checks_up')).toBeGreaterThanOrEqual(2);
    expect(total('checks')).toBe(total('checks_up') + total('checks_collector_down') + total('checks_dns_down') + total('checks_link_down'));
  }, 240_000);
});
