// `songcheck-agent run` in the lab's client namespace with a written configuration, its output lines collected,
// for lab tests that need the scheduled agent rather than one `measure` (outages, confirmation tests).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDb, uniqueTestDb } from '../support/influx-query.ts';
import { AGENT_BIN } from '../support/processes.ts';
import { bridgeInflux, type InfluxBridge } from './influx-bridge.ts';
import { createLabStack, type LabStack } from './lab-stack.ts';
import { labAvailable } from './netlab.ts';

export interface LabAgent {
  proc: ChildProcess;
  lines: string[];
  /** SIGTERM, then SIGKILL after 15 s. */
  stop(): Promise<void>;
}

let configs = 0;

/** Starts the agent; `started` collects every process so an afterAll can kill what a failed test left running. */
export function runLabAgent(s: LabStack, config: string, started: ChildProcess[]): LabAgent {
  const file = join(s.agentDir, `lab-${process.pid}-${configs++}.yaml`);
  writeFileSync(file, config);
  const proc = s.lab.spawnIn('client', process.execPath, [AGENT_BIN, 'run', '--data-dir', s.agentDir, '--config', file]);
  started.push(proc);
  const lines: string[] = [];
  let pending = '';
  const onData = (c: Buffer) => {
    pending += c.toString();
    const cut = pending.lastIndexOf('\n');
    if (cut >= 0) (lines.push(...pending.slice(0, cut).split('\n')), (pending = pending.slice(cut + 1)));
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    lines,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A lab whose collector stores into database `db` of the test's InfluxDB, and the agents run on it. */
export interface AgentLab {
  stack: LabStack;
  run(config: string): LabAgent;
  /** Kills the agents still running, destroys the lab, closes the InfluxDB relay. */
  close(): Promise<void>;
}

export async function createAgentLab(influxUrl: string, db: string): Promise<AgentLab> {
  const started: ChildProcess[] = [];
  let bridge: InfluxBridge | undefined;
  try {
    const stack = await createLabStack({
      influx: async (lab, root) => {
        bridge = await bridgeInflux(lab, influxUrl, root);
        return { url: bridge.url, db };
      },
    });
    return {
      stack,
      run: (config) => runLabAgent(stack, config, started),
      async close() {
        for (const a of started) a.kill('SIGKILL');
        await stack.destroy();
        await bridge?.close();
      },
    };
  } catch (err) {
    await bridge?.close();
    throw err;
  }
}

/**
 * A test file's agent lab: a fresh database `<name>_…` in the run's InfluxDB, the lab created before all tests and
 * closed after them. `unavailable` says why the lab cannot run here (skip the tests then).
 */
export function useAgentLab(name: string): { unavailable: string | undefined; influxUrl: string; db: string; lab(): AgentLab } {
  const influxUrl = inject('influxUrl');
  const db = uniqueTestDb(name);
  const unavailable = labAvailable();
  if (unavailable) console.warn(`[${name}] skipped: ${unavailable}`);
  let lab: AgentLab | undefined;
  beforeAll(async () => {
    if (unavailable) return;
    await createDb(influxUrl, db);
    lab = await createAgentLab(influxUrl, db);
  }, 240_000);
  afterAll(async () => {
    await lab?.close();
  });
  return { unavailable, influxUrl, db, lab: () => lab! };
}
