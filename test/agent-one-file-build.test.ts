// The agent as a school computer gets it: one JavaScript file in an otherwise empty directory, run by plain
// node with no node_modules anywhere above it, enrolling with and delivering to a real collector.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildAgent } from '../scripts/build-agent.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';
import { eventually, killAll, runNode } from './support/processes.ts';
import { createStack, FAST_AGENT_CONFIG, type Stack } from './support/stack.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('onefile');
// Under /tmp, nowhere near this repository's node_modules.
const empty = mkdtempSync(join(tmpdir(), 'songcheck-onefile-'));
const buildDir = mkdtempSync(join(tmpdir(), 'songcheck-build-'));
let bundle: string;
let stack: Stack;

beforeAll(async () => {
  await createDb(influxUrl, db);
  const built = await buildAgent(join(buildDir, 'songcheck-agent.mjs'));
  bundle = join(empty, 'songcheck-agent.mjs');
  copyFileSync(built, bundle);
  stack = await createStack({ influxUrl, db, siteCode: 'ONEFILE-1' });
  await stack.startCollector();
});
afterAll(async () => {
  await killAll();
  stack?.cleanup();
  rmSync(empty, { recursive: true, force: true });
  rmSync(buildDir, { recursive: true, force: true });
});

describe('one-file agent build', () => {
  it('runs from an empty directory with plain node: enrolls, measures and delivers to a real collector', async () => {
    const version = await runNode(bundle, ['--version']);
    expect(version.output.trim()).toMatch(/^\d+\.\d+\.\d+$/);

    const dataDir = await stack.enrollAgent('agent', bundle);
    const agent = stack.startAgent(dataDir, FAST_AGENT_CONFIG, bundle);
    const row = await eventually(async () => (await influxQuery(influxUrl, db, `SELECT * FROM latency WHERE site = 'ONEFILE-1' LIMIT 1`))[0], 30_000, 'a result from the one-file agent');
    expect(row).toMatchObject({ method: 'tcp_connect', code: 'ok' });
    const facts = await eventually(async () => (await influxQuery(influxUrl, db, `SELECT agent_version FROM device_facts WHERE site = 'ONEFILE-1'`))[0], 30_000, 'device facts');
    expect(facts.agent_version).toBe(version.output.trim());
    await agent.kill('SIGTERM');
  });
});
