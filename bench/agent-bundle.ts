// The one-file agent as a school gets it: bundle size (the .mjs and the offline archives) and start-up time
// to the first measurement, against `node -e 0` started the same way in the same run. Two start-ups:
// `measure tcp` (one TCP connect to a loopback listener, result printed, exit) and `run` (the service:
// from spawn until its first result is written to the queue, with a tcp probe scheduled every second, so
// up to 1 s of that is waiting for the first cron tick).
import { spawn } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { AGENT_NODE_FLAGS } from '../agent/service/node-flags.ts';
import { bundleAgent } from '../scripts/bundle-agent.ts';
import { median } from './harness.ts';
import { strongToken } from '../test/support/secrets.ts';

export interface BundleResult {
  mjsBytes: number;
  tarGzBytes: number;
  zipBytes: number;
  runs: number;
  nodeBareMs: number;
  measureMs: number;
  runFirstResultMs: number;
}

/** Milliseconds from spawn until `ready` matches the output (or the process exits, for `ready` undefined). */
function timeSpawn(args: string[], env: NodeJS.ProcessEnv, ready?: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e6;
    let out = '';
    let done: number | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (ready && done === undefined && ready.test(out)) {
        done = elapsed();
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    // Resolved only once the child has exited: the next run (and the clean-up) must not meet an agent still
    // writing its stop event and queue into the same data directory.
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (done !== undefined) return resolve(done);
      if (!ready && code === 0) resolve(elapsed());
      else reject(new Error(`${args.join(' ')} exited ${code} before it was ready:\n${out.slice(-2000)}`));
    });
  });
}

export async function benchAgentBundle(runs = 7): Promise<BundleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'songcheck-bench-bundle-'));
  const listener = createServer((s) => s.destroy());
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  try {
    const b = await bundleAgent(join(dir, 'dist'));
    const mjs = join(b.dir, 'songcheck-agent.mjs');
    const port = (listener.address() as AddressInfo).port;
    const data = join(dir, 'agent');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    // An identity whose collector is the loopback listener: uploads fail (and are retried); probes run.
    writeFileSync(join(data, 'identity.json'), JSON.stringify({ deviceId: 'bench', token: strongToken(), collectorUrl: `http://127.0.0.1:${port}`, site: { code: 'BENCH', name: 'bench' }, enrolledAt: Date.now() }));
    const config = join(data, 'bench.yaml');
    writeFileSync(
      config,
      `deviceFacts: { schedule: "0 0 3 1 1 *" }
probes:
  tcp: { schedule: "* * * * * *", splaySeconds: 0, options: { count: 1 } }
  http: { enabled: false }
  dns: { enabled: false }
  icmp: { enabled: false }
log: { level: debug }
`,
    );
    const bare: number[] = [];
    const measure: number[] = [];
    const first: number[] = [];
    for (let i = 0; i < runs; i++) {
      bare.push(await timeSpawn([...AGENT_NODE_FLAGS, '-e', '0'], {}));
      measure.push(await timeSpawn([...AGENT_NODE_FLAGS, mjs, 'measure', 'tcp', '--target', `127.0.0.1:${port}`, '--config', config, '--json', '--data-dir', data], {}, /"code": "ok"/));
      first.push(await timeSpawn([...AGENT_NODE_FLAGS, mjs, 'run', '--config', config, '--data-dir', data], {}, /"result queued"[^\n]*"probe":"tcp"|"probe":"tcp"[^\n]*"result queued"/));
    }
    const round = (n: number) => Math.round(n);
    return {
      mjsBytes: statSync(mjs).size,
      tarGzBytes: statSync(b.tarGz).size,
      zipBytes: statSync(b.zip).size,
      runs,
      nodeBareMs: round(median(bare)),
      measureMs: round(median(measure)),
      runFirstResultMs: round(median(first)),
    };
  } finally {
    listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
