// Shared by the benchmarks: the stack as real processes (InfluxDB, collector, agents) and /proc readings.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../scripts/free-port.ts';
import { startInfluxd, type InfluxServer } from '../scripts/influxd-server.ts';
import { strongToken } from '../test/support/secrets.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const COLLECTOR_BIN = join(ROOT, 'bin', 'songcheck-collector.js');
export const AGENT_BIN = join(ROOT, 'bin', 'songcheck-agent.js');

export interface BenchStack {
  influx: InfluxServer;
  collectorUrl: string;
  collector: ChildProcess;
  env: NodeJS.ProcessEnv;
  dir: string;
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export function runBin(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

export async function startBenchStack(databases: string[], collectorEnv: NodeJS.ProcessEnv = {}): Promise<BenchStack> {
  const dir = mkdtempSync(join(tmpdir(), 'songcheck-bench-'));
  const influx = await startInfluxd({ databases });
  const port = await freePort();
  const env = {
    SONGCHECK_HOST: '127.0.0.1',
    SONGCHECK_PORT: String(port),
    SONGCHECK_INFLUX_URL: influx.url,
    SONGCHECK_INFLUX_DB: databases[0],
    SONGCHECK_DATA_DIR: join(dir, 'collector'),
    SONGCHECK_ADMIN_TOKEN: strongToken(),
    SONGCHECK_TEST_TOKEN_KEY: strongToken(),
    SONGCHECK_LOG_LEVEL: 'warn',
    ...collectorEnv,
  };
  const collectorUrl = `http://127.0.0.1:${port}`;
  const collector = spawn(process.execPath, [...(process.env.BENCH_COLLECTOR_NODE_ARGS?.split(' ') ?? []), COLLECTOR_BIN, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${collectorUrl}/healthz`).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    influx,
    collectorUrl,
    collector,
    env,
    dir,
    cli: (...args) => runBin(COLLECTOR_BIN, args, env),
    async stop() {
      collector.kill('SIGTERM');
      await new Promise((r) => (collector.exitCode === null ? collector.once('exit', r) : r(null)));
      await influx.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function enrollmentCode(output: string): string {
  const code = /\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b/.exec(output)?.[0];
  if (!code) throw new Error(`no enrollment code in: ${output}`);
  return code;
}

/** Resident memory of a process and all its descendants, in bytes (Linux /proc). */
export function treeRssBytes(pid: number): number {
  return treePids(pid).reduce((sum, p) => sum + rssOf(p), 0);
}

/** CPU time (user + system) of a process and its descendants, in seconds. */
export function treeCpuSeconds(pid: number): number {
  const tick = 100; // USER_HZ is 100 on every Linux this runs on
  return treePids(pid).reduce((sum, p) => {
    const stat = readProc(`/proc/${p}/stat`);
    if (!stat) return sum;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return sum + (Number(fields[11]) + Number(fields[12])) / tick;
  }, 0);
}

function treePids(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProc(`/proc/${name}/stat`);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length && out.length < 1000) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

function rssOf(pid: number): number {
  const status = readProc(`/proc/${pid}/status`);
  const kb = status && /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 : NaN;
};

/** Runs `count` jobs, `concurrency` at a time; the wall time in seconds (ingest, evidence, several-collectors). */
export async function timedJobs(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await job(next++);
  }));
  return Number(process.hrtime.bigint() - start) / 1e9;
}
