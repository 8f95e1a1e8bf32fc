// Issue 14, case 13: whoever holds the admin token pushed `probes.icmp.options.binary` (or an http
// `caFile`) and so chose a program every agent runs (as LocalSystem on Windows) or a certificate every
// agent trusts. The remote-config check in protocol/ now refuses options that name a file to run or trust:
// the collector refuses the push, and the agent refuses such a configuration even when a collector stored
// it anyway (here written straight into the collector's store, as an older collector would have). Real
// collector and agent processes, real sockets, the real InfluxDB.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ControlStore } from '../../collector/control/store.ts';
import { Registry } from '../../collector/registry/registry.ts';
import { createDb, uniqueTestDb } from '../support/influx-query.ts';
import { COLLECTOR_BIN, eventually, killAll, runNode, type Tracked } from '../support/processes.ts';
import { ADMIN_TOKEN, createStack, FAST_AGENT_CONFIG, type Stack } from '../support/stack.ts';

const influxUrl = inject('influxUrl');
let stack: Stack;
let agent: Tracked;
let marker: string;
let program: string;

/** A pushed configuration that runs `program` as the ping binary every second. */
const hostileConfig = () => ({
  probes: { icmp: { enabled: true, schedule: '* * * * * *', splaySeconds: 0, targets: ['127.0.0.1'], options: { count: 1, binary: program } } },
  log: { level: 'debug' },
});

beforeAll(async () => {
  const db = uniqueTestDb('hostile_remote_config');
  await createDb(influxUrl, db);
  stack = await createStack({ influxUrl, db, collectorEnv: { SONGCHECK_CONTROL_HEARTBEAT_S: '2' } });
  marker = join(stack.root, 'the-program-ran');
  program = join(stack.root, 'not-ping.sh');
  writeFileSync(program, `#!/bin/sh\ntouch '${marker}'\n`);
  chmodSync(program, 0o755);
  await stack.startCollector();
  const dir = await stack.enrollAgent('agent');
  agent = stack.startAgent(dir, `${FAST_AGENT_CONFIG}control: { backoffInitialSeconds: 0.5, backoffMaxSeconds: 4 }\n`);
  await eventually(() => (agent.lines.some((l) => l.includes('"msg":"control channel connected')) ? true : undefined), 30_000, 'the agent on the control channel');
});

afterAll(async () => {
  await killAll();
  stack?.cleanup();
});

describe('a pushed configuration cannot make agents run or trust a file', () => {
  it('the admin API refuses a push of probes.icmp.options.binary and of probes.http.options.caFile, naming the option', async () => {
    const push = (config: unknown) =>
      fetch(`${stack.collectorUrl}/api/v1/admin/agent-configs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ target: { all: true }, config }),
      });
    const binary = await push(hostileConfig());
    expect(binary.status).toBe(400);
    expect(JSON.stringify(await binary.json())).toContain('probes.icmp.options.binary cannot be set remotely');
    const ca = await push({ probes: { http: { options: { caFile: program } } } });
    expect(ca.status).toBe(400);
    expect(JSON.stringify(await ca.json())).toContain('probes.http.options.caFile cannot be set remotely');
    const cli = await runNode(COLLECTOR_BIN, ['config', 'list', '--json'], { SONGCHECK_DATA_DIR: join(stack.root, 'collector') });
    expect(cli.output).not.toContain(program);
  });

  it('an agent refuses such a configuration stored by a collector that did not check it, and never runs the program', async () => {
    const registry = await Registry.open(join(stack.root, 'collector'));
    const stored = await new ControlStore(registry.store).pushConfig({ kind: 'all' }, hostileConfig(), 'older collector');
    await registry.close();
    const rejected = await eventually(
      () => agent.lines.find((l) => l.includes('"msg":"remote configuration rejected') && l.includes(`"version":${stored.version}`)),
      30_000, 'the agent to reject the stored configuration',
    );
    expect(rejected).toContain('probes.icmp.options.binary cannot be set remotely');
    // A few of the pushed icmp schedule's seconds: the program would have run by now.
    await new Promise((r) => setTimeout(r, 3000));
    expect(existsSync(marker)).toBe(false);
    expect(agent.lines.some((l) => l.includes('"msg":"remote configuration applied'))).toBe(false);
    expect(existsSync(join(stack.root, 'agent', 'remote-config.json')) ? readFileSync(join(stack.root, 'agent', 'remote-config.json'), 'utf8') : '').not.toContain(program);
  });
});
