// A collector in the lab's server namespace and an enrolled agent data directory for the client namespace,
// for throughput tests and benchmarks. The collector's InfluxDB URL points at the server namespace's own
// loopback, where nothing listens: throughput tests move data between agent and collector and store nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Result } from '../../protocol/results.ts';
import { AGENT_BIN, COLLECTOR_BIN, runNode } from '../support/processes.ts';
import { createLab, type Lab } from './netlab.ts';
import { strongToken } from '../support/secrets.ts';

export const LAB_PORT = 8080;

export interface LabStack {
  lab: Lab;
  collectorUrl: string;
  agentDir: string;
  collector?: ChildProcess;
  startCollector(): Promise<void>;
  stopCollector(): Promise<void>;
  /** `songcheck-agent measure throughput --json` in the client namespace, with a YAML config for the probe. */
  measure(method: 'ndt7' | 'http', probeYaml?: string, timeoutMs?: number): Promise<{ code: number; results: Result[]; output: string }>;
  /**
   * iperf3 from client to server (reverse: download), Mbit/s received after the first omitSeconds (slow start:
   * long paths need several seconds of it). `congestion` picks the sender's TCP congestion control (iperf3 -C,
   * applied by both ends); by default the namespaces inherit this machine's, which may be BBR.
   */
  iperf3(direction: 'download' | 'upload', seconds: number, omitSeconds?: number, congestion?: 'cubic' | 'reno' | 'bbr'): Promise<number>;
  destroy(): Promise<void>;
}

/** Options every lab test shares: a budget that never interferes, lab-sized limits. */
export const LAB_PROBE_DEFAULTS = 'budget: { monthlyMegabytes: 100000, pauseBelowMegabytes: 0, perTestMaxMegabytes: 100 }';

export interface LabStackOptions {
  /** Makes an InfluxDB reachable from the server namespace (see influx-bridge.ts); default: none. */
  influx?: (lab: Lab, root: string) => Promise<{ url: string; db: string }>;
  /** Another lab shape (router-lab.ts: a router namespace between server and client); default: createLab(). */
  lab?: () => Promise<Lab>;
}

export async function createLabStack(opts: LabStackOptions = {}): Promise<LabStack> {
  const lab = await (opts.lab ?? createLab)();
  const root = mkdtempSync(join(tmpdir(), 'songcheck-lab-'));
  const collectorUrl = `http://${lab.serverIp}:${LAB_PORT}`;
  let influx: { url: string; db: string } | undefined;
  try {
    influx = await opts.influx?.(lab, root);
  } catch (err) {
    await lab.destroy();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const env = {
    SONGCHECK_HOST: lab.serverIp,
    SONGCHECK_PORT: String(LAB_PORT),
    SONGCHECK_INFLUX_URL: influx?.url ?? 'http://127.0.0.1:9',
    ...(influx ? { SONGCHECK_INFLUX_DB: influx.db } : {}),
    SONGCHECK_DATA_DIR: join(root, 'collector'),
    SONGCHECK_ADMIN_TOKEN: strongToken(),
    SONGCHECK_TEST_TOKEN_KEY: strongToken(),
    // info: the start waits for the 'collector listening' line.
    SONGCHECK_LOG_LEVEL: 'info',
  };
  const cli = async (...args: string[]) => {
    const r = await runNode(COLLECTOR_BIN, args, env);
    if (r.code !== 0) throw new Error(`songcheck-collector ${args.join(' ')} failed:\n${r.output}`);
    return r.output;
  };
  const stack: LabStack = {
    lab,
    collectorUrl,
    agentDir: join(root, 'agent'),
    async startCollector() {
      const child = lab.spawnIn('server', process.execPath, [COLLECTOR_BIN, 'serve'], env);
      stack.collector = child;
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`collector did not start in the lab:\n${out}`)), 30_000);
        const onData = (c: Buffer) => {
          out += c.toString();
          if (out.includes('collector listening')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', () => reject(new Error(`collector exited in the lab:\n${out}`)));
      });
      child.stdout!.resume();
      child.stderr!.resume();
    },
    async stopCollector() {
      const c = stack.collector;
      stack.collector = undefined;
      if (!c || c.exitCode !== null) return;
      c.kill('SIGCONT');
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await new Promise((r) => c.once('exit', r));
      clearTimeout(timer);
    },
    async measure(method, probeYaml = '', timeoutMs = 90_000) {
      const config = join(root, `agent-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(config, `probes:\n  throughput:\n    timeoutSeconds: 120\n    options: { ${[probeYaml.includes('budget:') ? '' : LAB_PROBE_DEFAULTS, probeYaml].filter(Boolean).join(', ')} }\n`);
      const r = await lab.execIn('client', process.execPath, [AGENT_BIN, 'measure', 'throughput', '--method', method, '--json', '--data-dir', stack.agentDir, '--config', config], timeoutMs);
      let results: Result[] = [];
      try {
        const parsed = JSON.parse(r.stdout) as Result | Result[];
        results = Array.isArray(parsed) ? parsed : [parsed];
      } catch {
        throw new Error(`measure printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }
      return { code: r.code, results, output: r.stdout + r.stderr };
    },
    async iperf3(direction, seconds, omitSeconds = 1, congestion) {
      // Two tries: on a long path iperf3's control connection now and then gives up before the test starts.
      let failure = '';
      for (let attempt = 0; attempt < 2; attempt++) {
        // --forceflush: with its stdout a pipe, iperf3 buffers "Server listening" and the wait below would run
        // its whole 5 s, starting the client 5 s late.
        const server = lab.spawnIn('server', 'iperf3', ['-s', '-1', '--forceflush', '-B', lab.serverIp, '-p', '5201']);
        const exited = new Promise((r) => server.once('exit', r));
        try {
          // Wait for the server's "Server listening" line (bounded), then run the client once.
          await new Promise<void>((resolve) => {
            let out = '';
            const timer = setTimeout(resolve, 5_000);
            server.stdout!.on('data', (c: Buffer) => {
              out += c.toString();
              if (/listening/i.test(out)) (clearTimeout(timer), resolve());
            });
          });
          const r = await lab.execIn('client', 'iperf3', ['-c', lab.serverIp, '-p', '5201', '-t', String(seconds), '-O', String(omitSeconds), '-J', ...(direction === 'download' ? ['-R'] : []), ...(congestion ? ['-C', congestion] : [])], (seconds + omitSeconds + 15) * 1000);
          let bps: number | undefined;
          try {
            bps = (JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } }).end?.sum_received?.bits_per_second;
          } catch {
            // Reported below with the output.
          }
          if (bps) return bps / 1e6;
          failure = `iperf3 gave no figure (exit ${r.code}):\n${r.stdout.slice(0, 500)}\n${r.stderr}`;
        } finally {
          server.kill('SIGKILL');
          await exited;
        }
      }
      throw new Error(failure);
    },
    async destroy() {
      await stack.stopCollector();
      await lab.destroy();
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await cli('sites', 'add', '--code', 'LAB-001', '--name', 'Lab site');
    const out = await cli('enroll-code', '--site', 'LAB-001', '--uses', '5');
    const code = /\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b/.exec(out)?.[0];
    if (!code) throw new Error(`no enrollment code in:\n${out}`);
    await stack.startCollector();
    const e = await lab.execIn('client', process.execPath, [AGENT_BIN, 'enroll', '--collector', collectorUrl, '--code', code, '--data-dir', stack.agentDir], 60_000);
    if (e.code !== 0) throw new Error(`agent enroll failed in the lab:\n${e.stdout}${e.stderr}`);
  } catch (err) {
    await stack.destroy();
    throw err;
  }
  return stack;
}
