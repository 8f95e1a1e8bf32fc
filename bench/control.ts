// Control channel at fleet scale: N concurrent connections (default 10 000) to ONE collector process,
// each sending a heartbeat every few seconds, from client child processes on loopback. Reports the
// collector's RSS and the heartbeat round trip (send → acknowledgement, timed by the clients) against a
// bare `ws` echo server measured the same way in the same run. Every process is started through
// `sh -c 'ulimit -n <hard limit>; exec ...'` so each may hold its share of the sockets.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CONTROL_PATH } from '../protocol/control.ts';
import { Registry } from '../collector/registry/registry.ts';
import { mb, ROOT, startBenchStack, treeRssBytes } from './harness.ts';

export interface ControlLoad {
  connections: number;
  connectSeconds: number;
  shed: number;
  failed: number;
  heartbeats: number;
  acks: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Client send → server reply sent (t2 − t0 from the acknowledgement). */
  serverP50Ms: number;
  serverP99Ms: number;
  rssMb: number;
}

export interface ControlBenchResult {
  target: number;
  heartbeatS: number;
  warmupS: number;
  windowS: number;
  clientProcesses: number;
  fdLimit: string;
  collector: ControlLoad;
  echo: ControlLoad;
}

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A node process with the fd limit raised to the hard limit. */
function spawnRaised(args: string[], extraEnv: NodeJS.ProcessEnv): ChildProcess {
  const command = `ulimit -n "$(ulimit -Hn)"; exec ${[process.execPath, ...args].map(quote).join(' ')}`;
  return spawn('sh', ['-c', command], { cwd: ROOT, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Runs the client processes against `url` while sampling `pid`'s RSS; resolves with the merged figures. */
async function load(url: string, pid: number, tokensFile: string, n: number, opts: { heartbeatS: number; warmupS: number; windowS: number; processes: number }): Promise<ControlLoad> {
  const per = Math.ceil(n / opts.processes);
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, treeRssBytes(pid))), 1000);
  const children = Array.from({ length: opts.processes }, (_, i) =>
    spawnRaised(['--import', 'tsx', join(ROOT, 'bench', 'control-clients.ts')], {
      BENCH_URL: url, BENCH_TOKENS: tokensFile, BENCH_FROM: String(i * per), BENCH_TO: String(Math.min(n, (i + 1) * per)),
      BENCH_HEARTBEAT_S: String(opts.heartbeatS), BENCH_WARMUP_S: String(opts.warmupS), BENCH_WINDOW_S: String(opts.windowS),
    }),
  );
  const reports = await Promise.all(children.map((child) => new Promise<Record<string, { [k: string]: unknown }>>((resolve, reject) => {
    const phases: Record<string, { [k: string]: unknown }> = {};
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const o = JSON.parse(line) as { phase: string };
        phases[o.phase] = o;
      } catch {
        // not a report line
      }
    });
    // Bounded: connecting plus the window, with a wide margin for a loaded machine.
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('control clients did not finish in time'))), (opts.warmupS + opts.windowS + 600) * 1000);
    child.on('exit', () => (clearTimeout(timer), phases.done ? resolve(phases) : reject(new Error('a control client process exited without its report'))));
  })));
  clearInterval(sampler);
  const rtts = reports.flatMap((r) => r.done!.rtts as number[]).sort((a, b) => a - b);
  const server = reports.flatMap((r) => r.done!.serverSide as number[]).sort((a, b) => a - b);
  const sum = (phase: string, key: string) => reports.reduce((s, r) => s + Number(r[phase]![key]), 0);
  return {
    connections: sum('connected', 'connections'),
    connectSeconds: Math.max(...reports.map((r) => Number(r.connected!.ms))) / 1000,
    shed: sum('connected', 'shed'),
    failed: sum('connected', 'failed'),
    heartbeats: sum('done', 'heartbeats'),
    acks: sum('done', 'acks'),
    p50Ms: pct(rtts, 50),
    p99Ms: pct(rtts, 99),
    maxMs: rtts.at(-1) ?? NaN,
    serverP50Ms: pct(server, 50),
    serverP99Ms: pct(server, 99),
    rssMb: mb(rssMax),
  };
}

export async function benchControl(): Promise<ControlBenchResult> {
  const n = env('BENCH_CONTROL_CONNECTIONS', 10_000);
  const opts = { heartbeatS: env('BENCH_CONTROL_HEARTBEAT_S', 10), warmupS: env('BENCH_CONTROL_WARMUP_S', 10), windowS: env('BENCH_CONTROL_WINDOW_S', 30), processes: env('BENCH_CONTROL_CLIENT_PROCESSES', 2) };
  // The collector's handshake budget is raised for the bench so connecting takes seconds, not a minute;
  // the shed count shows admission control working all the same.
  const stack = await startBenchStack(['bench_control'], {
    SONGCHECK_CONTROL_HANDSHAKES_PER_S: process.env.BENCH_CONTROL_HANDSHAKES_PER_S ?? '1000',
    SONGCHECK_CONTROL_HANDSHAKE_BURST: '500',
    SONGCHECK_CONTROL_MAX_CONNECTIONS: String(n + 1000),
  });
  let echo: ChildProcess | undefined;
  try {
    // Enrol the fleet straight into the registry (the collector reads the same SQLite file).
    const registry = await Registry.open(stack.env.SONGCHECK_DATA_DIR!);
    const tokens = await registry.transaction(async (registry) => {
      const out: string[] = [];
      for (let s = 0; s < Math.ceil(n / 100); s++) {
        const code = `CTL-${String(s).padStart(4, '0')}`;
        await registry.addSite({ code, name: `Control bench ${s}`, commune: 'Bản Xèo', operator: 'viettel', linkType: '4g', groups: ['bench'] });
        const enrol = (await registry.createEnrollmentCode(code, { uses: 100 })).code;
        for (let d = 0; d < 100 && out.length < n; d++) out.push((await registry.enroll(enrol)).token);
      }
      return out;
    });
    await registry.close();
    const tokensFile = join(stack.dir, 'tokens.json');
    writeFileSync(tokensFile, JSON.stringify(tokens));

    const collectorUrl = `${stack.collectorUrl.replace('http', 'ws')}${CONTROL_PATH}`;
    const collector = await load(collectorUrl, stack.collector.pid!, tokensFile, n, opts);

    echo = spawnRaised(['--import', 'tsx', join(ROOT, 'bench', 'control-echo-server.ts')], {});
    const port = await new Promise<string>((resolve) => createInterface({ input: echo!.stdout! }).once('line', resolve));
    const reference = await load(`ws://127.0.0.1:${port}/`, echo.pid!, tokensFile, n, opts);
    return { target: n, ...opts, clientProcesses: opts.processes, fdLimit: await hardLimit(), collector, echo: reference };
  } finally {
    echo?.kill('SIGKILL');
    await stack.stop();
  }
}

async function hardLimit(): Promise<string> {
  const child = spawn('sh', ['-c', 'ulimit -Hn'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  await new Promise((r) => child.on('exit', r));
  return out.trim();
}

export function controlReport(r: ControlBenchResult): string {
  const row = (name: string, l: ControlLoad) =>
    `| ${name} | ${l.connections} / ${r.target} | ${l.connectSeconds.toFixed(1)} s (${l.shed} shed, ${l.failed} failed) | ${l.acks} / ${l.heartbeats} | ${l.p50Ms} / **${l.p99Ms}** / ${l.maxMs} | ${l.serverP50Ms} / **${l.serverP99Ms}** | **${l.rssMb}** |`;
  const c = r.collector;
  const e = r.echo;
  return [
    '## Control channel: concurrent connections with heartbeats, one collector process',
    '',
    `${r.target} WebSocket connections from ${r.clientProcesses} client processes on loopback, each sending a heartbeat every ${r.heartbeatS} s (${Math.round(r.target / r.heartbeatS)}/s in all); after ${r.warmupS} s of warm-up, round trips (heartbeat sent → acknowledgement received, timed by the clients) over ${r.windowS} s. Server and clients started with \`ulimit -n\` raised to the hard limit (${r.fdLimit}). The collector authenticates every handshake against SQLite, keeps presence and writes it to a real InfluxDB; the reference is a bare \`ws\` server answering the same acknowledgement, loaded the same way right after.`,
    '',
    '| server | connected | connect phase | acks / heartbeats | round trip p50 / p99 / max ms | send → reply sent p50 / p99 ms | RSS max (MB) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('bare ws echo (reference)', e),
    row('songcheck collector', c),
    '',
    '"Send → reply sent" is t2 − t0 of the acknowledgement (client clock at send, server clock at reply; one machine): the heartbeat\'s wait and handling in the server, without the clients\' own delay in reading the reply. It has millisecond resolution.',
    '',
    `**Ratios collector / reference: RSS ${(c.rssMb / e.rssMb).toFixed(2)}, round-trip p99 ${(c.p99Ms / e.p99Ms).toFixed(2)}, send → reply p99 ${(c.serverP99Ms / Math.max(1, e.serverP99Ms)).toFixed(2)}.** Goals: RSS ≤ 1 GB: ${c.rssMb <= 1024 ? 'met' : 'NOT met'}; heartbeat handling p99 (send → reply sent) ≤ 50 ms: ${c.serverP99Ms <= 50 ? 'met' : 'NOT met'} (round trip: ${c.p99Ms <= 50 ? 'met' : 'NOT met'}); all ${r.target} connected: ${c.connections === r.target ? 'yes' : 'NO'}.`,
  ].join('\n');
}
