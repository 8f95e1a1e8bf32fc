// Agent footprint: resident memory and CPU of an idle enrolled agent with the default schedule (no config
// file), sampled over several minutes, against a bare Node process measured in the same run. The agent runs
// as it is installed at a school: the one-file build under plain node. The development entry point (tsx
// compiling TypeScript in a loader thread) is measured beside it for comparison.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS, buildAgent } from '../scripts/build-agent.ts';
import { AGENT_BIN, enrollmentCode, mb, median, runBin, startBenchStack, treeCpuSeconds, treeRssBytes } from './harness.ts';

export interface FootprintResult {
  seconds: number;
  agentRssMedianMb: number;
  agentRssMaxMb: number;
  agentCpuPct: number;
  devEntryRssMb: number;
  bareNodeRssMb: number;
  ratio: number;
  resultsDelivered: number;
}

export async function benchAgentFootprint(seconds = Number(process.env.BENCH_FOOTPRINT_SECONDS ?? 180)): Promise<FootprintResult> {
  const stack = await startBenchStack(['bench_footprint']);
  const children: ChildProcess[] = [];
  try {
    await stack.cli('sites', 'add', '--code', 'BENCH-1', '--name', 'Bench site');
    const code = enrollmentCode(await stack.cli('enroll-code', '--site', 'BENCH-1'));
    const agentDir = join(stack.dir, 'agent');
    mkdirSync(agentDir, { recursive: true });
    await runBin(AGENT_BIN, ['enroll', '--collector', stack.collectorUrl, '--code', code, '--data-dir', agentDir], {});

    const bundle = await buildAgent(join(stack.dir, 'songcheck-agent.mjs'));
    // As the services run it: logging to rotated files under the data directory.
    const agent = spawn(process.execPath, [...AGENT_NODE_FLAGS, bundle, 'run', '--log-file', '--data-dir', agentDir], { stdio: 'ignore' });
    // Same identity, its own data directory, so the two agents do not share a queue.
    const devDir = join(stack.dir, 'agent-dev');
    mkdirSync(devDir, { recursive: true });
    copyFileSync(join(agentDir, 'identity.json'), join(devDir, 'identity.json'));
    // And the same signing key: with a key of its own the collector refuses its results (a key is never replaced).
    copyFileSync(join(agentDir, 'device-key.pem'), join(devDir, 'device-key.pem'));
    const dev = spawn(process.execPath, [AGENT_BIN, 'run', '--data-dir', devDir], { stdio: 'ignore' });
    // The reference: Node itself, doing nothing but keeping its event loop alive.
    const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(agent, bare, dev);

    const warmupS = Math.min(20, seconds / 4);
    await sleep(warmupS * 1000);
    const cpu0 = treeCpuSeconds(agent.pid!);
    const t0 = Date.now();
    const agentRss: number[] = [];
    const bareRss: number[] = [];
    const devRss: number[] = [];
    while (Date.now() - t0 < (seconds - warmupS) * 1000) {
      agentRss.push(treeRssBytes(agent.pid!));
      bareRss.push(treeRssBytes(bare.pid!));
      devRss.push(treeRssBytes(dev.pid!));
      await sleep(2000);
    }
    const cpuPct = ((treeCpuSeconds(agent.pid!) - cpu0) / ((Date.now() - t0) / 1000)) * 100;
    const delivered = await fetch(`${stack.influx.url}/query?db=bench_footprint&q=${encodeURIComponent('SELECT count(result_id) FROM /.*/')}`)
      .then((r) => r.json() as Promise<{ results: { series?: { values: [number, number][] }[] }[] }>)
      .then((b) => (b.results[0]?.series ?? []).reduce((s, x) => s + (x.values[0]?.[1] ?? 0), 0));
    const result = {
      seconds,
      agentRssMedianMb: mb(median(agentRss)),
      agentRssMaxMb: mb(Math.max(...agentRss)),
      agentCpuPct: Math.round(cpuPct * 100) / 100,
      bareNodeRssMb: mb(median(bareRss)),
      devEntryRssMb: mb(median(devRss)),
      ratio: Math.round((median(agentRss) / median(bareRss)) * 100) / 100,
      resultsDelivered: delivered,
    };
    return result;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await sleep(500);
    await stack.stop();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
