// The control channel with real processes: the collector's bin, an enrolled agent's bin whose device clock
// is an hour slow (SONGCHECK_TEST_CLOCK_SKEW_MS, the only fake), the collector CLI and the real InfluxDB.
// Clock correction, remote configuration (applied, persisted across a restart, a bad one rejected while
// the old one keeps running), run-probe end to end, and reconnection after a collector restart.
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ControlStore } from '../collector/control/store.ts';
import { Registry } from '../collector/registry/registry.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';
import { AGENT_BIN, COLLECTOR_BIN, eventually, killAll, runNode, spawnNode, type Tracked } from './support/processes.ts';
import { createStack, FAST_AGENT_CONFIG, type Stack } from './support/stack.ts';

const influxUrl = inject('influxUrl');
const SKEW_MS = -3_600_000; // the device clock is one hour slow
const CONTROL = 'control: { backoffInitialSeconds: 0.5, backoffMaxSeconds: 4 }\n';
let db: string;
let stack: Stack;
let agentDir: string;
let deviceId: string;
let agent: Tracked;

function startAgent(): Tracked {
  const file = join(agentDir, 'test-config.yaml');
  writeFileSync(file, FAST_AGENT_CONFIG + CONTROL);
  return spawnNode(AGENT_BIN, ['run', '--data-dir', agentDir, '--config', file], { SONGCHECK_TEST_CLOCK_SKEW_MS: String(SKEW_MS) });
}

const cli = (...args: string[]) => runNode(COLLECTOR_BIN, args, { SONGCHECK_DATA_DIR: join(stack.root, 'collector') });
const q = (query: string) => influxQuery(influxUrl, db, query);
/** Log lines of a given message, parsed. */
const logged = (t: Tracked, msg: string) =>
  t.lines.filter((l) => l.includes(`"msg":"${msg}`)).map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  db = uniqueTestDb('control_e2e');
  await createDb(influxUrl, db);
  stack = await createStack({
    influxUrl,
    db,
    siteArgs: ['--commune', 'Bản Xèo', '--operator', 'viettel', '--link-type', '4g', '--group', 'pilot'],
    collectorEnv: { SONGCHECK_CONTROL_HEARTBEAT_S: '2' },
  });
  await stack.startCollector();
  agentDir = await stack.enrollAgent('agent-skewed');
  deviceId = (JSON.parse(readFileSync(join(agentDir, 'identity.json'), 'utf8')) as { deviceId: string }).deviceId;
  agent = startAgent();
});

afterAll(async () => {
  await killAll();
  stack?.cleanup();
});

describe('control channel end to end', () => {
  it('estimates the offset of an agent whose clock is an hour slow and stamps its measurements with the collector time', async () => {
    const health = await eventually(async () => {
      const rows = await q(`SELECT * FROM agent_health WHERE device = '${deviceId}' AND clock_corrected = true`);
      return rows[0];
    }, 60_000, 'an agent_health point with clock_corrected');
    expect(Math.abs((health.clock_offset_ms as number) + SKEW_MS)).toBeLessThan(5_000);
    // Stored at (about) the real time, not an hour ago: the correction was applied before the collector saw it.
    expect(Math.abs((health.time as number) - Date.now())).toBeLessThan(5 * 60_000);
    const step = await eventually(async () => (await q(`SELECT * FROM agent_event WHERE device = '${deviceId}' AND event = 'clock_step'`))[0], 30_000, 'a clock_step event');
    expect(Math.abs((step.gap_s as number) * 1000 + SKEW_MS)).toBeLessThan(5_000);
    // The collector knows the offset too (presence), from the heartbeats.
    const presence = await eventually(async () => (await q(`SELECT * FROM presence WHERE device = '${deviceId}' AND connected = true AND clock_offset_ms > 3590000`))[0], 90_000, 'a presence point with the offset (the per-minute sweep)');
    expect(presence).toMatchObject({ site: stack.siteCode, revoked: false });
    expect(existsSync(join(agentDir, 'clock.json'))).toBe(true);
  });

  it('applies a configuration pushed to its group, persists it, and keeps it across an agent restart', async () => {
    const file = join(stack.root, 'pushed.yaml');
    // A whole configuration: it replaces the local file (except collectorUrl). tcp now measures 127.0.0.1:9.
    writeFileSync(file, FAST_AGENT_CONFIG.replace('tcp: {', 'tcp: { targets: ["127.0.0.1:9"],') + CONTROL);
    const push = await cli('config', 'push', '--group', 'pilot', file);
    expect(push.code, push.output).toBe(0);
    const version = Number(/configuration version (\d+)/.exec(push.output)?.[1]);
    await eventually(() => (logged(agent, 'remote configuration applied').length > 0 ? true : undefined), 30_000, 'the agent to apply it');
    const status = await cli('config', 'status', '--json');
    expect(JSON.parse(status.output)).toEqual([expect.objectContaining({ deviceId, wantedVersion: version, state: 'applied' })]);
    expect(JSON.parse(readFileSync(join(agentDir, 'remote-config.json'), 'utf8'))).toMatchObject({ version });
    await eventually(async () => (await q(`SELECT * FROM agent_event WHERE device = '${deviceId}' AND event = 'config_applied'`))[0], 30_000, 'a config_applied event');
    await eventually(async () => (await q(`SELECT * FROM latency WHERE device = '${deviceId}' AND target = '127.0.0.1:9'`))[0], 30_000, 'tcp results for the pushed target');

    await agent.kill('SIGTERM');
    agent = startAgent();
    await eventually(() => (logged(agent, 'control channel connected').length > 0 ? true : undefined), 30_000, 'the restarted agent to connect');
    const afterRestart = await eventually(() => agent.lines.find((l) => l.includes('"result queued"') && l.includes('127.0.0.1:9')), 30_000, 'a tcp result for the pushed target after the restart');
    expect(afterRestart).toBeDefined();
    // It started with the stored version, so the collector had nothing to resend.
    expect(logged(agent, 'remote configuration applied')).toHaveLength(0);
  });

  it('rejects a configuration it cannot run with the reason, and keeps running the old one', async () => {
    // Stored directly, as a newer collector that knows a probe this agent does not would store it.
    const registry = await Registry.open(join(stack.root, 'collector'));
    const bad = await new ControlStore(registry.store).pushConfig({ kind: 'site', site: stack.siteCode }, { probes: { teleport: { schedule: '* * * * * *' } } }, 'test');
    await registry.close();
    const status = await eventually(async () => {
      const rows = JSON.parse((await cli('config', 'status', '--json')).output) as { state: string; reason?: string; wantedVersion: number }[];
      return rows[0]?.state === 'rejected' ? rows[0] : undefined;
    }, 30_000, 'the rejected state');
    expect(status).toMatchObject({ wantedVersion: bad.version });
    expect(status.reason).toMatch(/unknown probe 'teleport'/);
    const rejectedAt = agent.lines.length;
    await eventually(() => (agent.lines.slice(rejectedAt).some((l) => l.includes('"result queued"') && l.includes('127.0.0.1:9')) ? true : undefined), 30_000, 'the old configuration still measuring');
    await eventually(async () => (await q(`SELECT * FROM agent_event WHERE device = '${deviceId}' AND event = 'config_rejected'`))[0], 30_000, 'a config_rejected event');
  });

  it('runs a probe on request: the result arrives through the queue and the command is acknowledged', async () => {
    const run = await cli('run-probe', '--device', deviceId, '--probe', 'tcp', '--target', '127.0.0.1:7', '--wait', '60');
    expect(run.code, run.output).toBe(0);
    expect(run.output, run.output).toMatch(/done\s+.*1 result\(s\) queued: 127\.0\.0\.1:7=/);
    await eventually(async () => (await q(`SELECT * FROM latency WHERE device = '${deviceId}' AND target = '127.0.0.1:7'`))[0], 30_000, 'the commanded result in InfluxDB');
    await eventually(async () => (await q(`SELECT * FROM agent_event WHERE device = '${deviceId}' AND event = 'command'`))[0], 30_000, 'a command event');
    const unknown = await cli('run-probe', '--device', deviceId, '--probe', 'teleport');
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/unknown probe 'teleport'/);
  });

  it('reconnects after a collector restart, no sooner than the collector asked and with bounded backoff', async () => {
    const connectsBefore = logged(agent, 'control channel connected').length;
    const downBefore = logged(agent, 'control channel down; reconnecting later').length;
    await stack.stopCollector('SIGTERM');
    await eventually(() => (logged(agent, 'collector asked to reconnect later').length > 0 ? true : undefined), 20_000, 'the reconnect hint');
    await new Promise((r) => setTimeout(r, 5_000));
    await stack.startCollector();
    await eventually(() => (logged(agent, 'control channel connected').length > connectsBefore ? true : undefined), 60_000, 'the agent to reconnect');
    const downs = logged(agent, 'control channel down; reconnecting later').slice(downBefore);
    const hint = logged(agent, 'collector asked to reconnect later').at(-1)!.afterMs as number;
    expect(downs.length).toBeGreaterThanOrEqual(1);
    // Full jitter under a 4 s cap over ~5-10 s of outage: a handful of attempts, never a tight loop.
    expect(downs.length).toBeLessThanOrEqual(20);
    expect(downs[0]!.delayMs).toBeGreaterThanOrEqual(hint);
    for (const d of downs.slice(1)) expect(d.delayMs as number).toBeLessThanOrEqual(4_000);
  });
});
