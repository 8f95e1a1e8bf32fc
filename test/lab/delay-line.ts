// Round-trip delay for the network lab. This kernel has no netem, so the delay is a small C forwarder
// (delay-line.c) between two TUN devices, one in each of the lab's namespaces; the namespaces route the
// peer's address through their TUN device, and tc tbf on the TUN devices keeps shaping the rate.
//
// Why C, compiled at test setup: Node cannot issue the TUNSETIFF ioctl, and every packet of a 40 Mbit/s test
// crosses the forwarder twice a round trip, so it must add no delay of its own; a 150-line C program does that
// with one read and one write per packet. gcc is a Debian package (installed with apt when root, like iperf3);
// python3 is not part of a minimal Debian and would have to keep time per packet in an interpreter. The binary
// is cached by the hash of its source in the temporary directory, so the compile (well under a second) runs
// once per machine and source version.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { ensureCommand } from '../../scripts/system-deps.ts';

const run = promisify(execFile);
const SOURCE = new URL('./delay-line.c', import.meta.url);

export interface DelaySetting {
  /** Added round-trip time, ms (half each way). */
  rttMs: number;
  /** Each packet's one-way delay varies by ±jitterMs/2 at random; packets are never reordered. */
  jitterMs?: number;
}

export interface DelayLineStats {
  forwarded: { serverToClient: number; clientToServer: number };
  dropped: { serverToClient: number; clientToServer: number };
  /** Most packets queued at once, per direction, since the last stats(). */
  maxQueue: { serverToClient: number; clientToServer: number };
  /** How late packets left compared with their due time (the forwarder's own error), µs, since the last stats(). */
  lateMaxUs: number;
  lateMeanUs: number;
  /** Whether the forwarder runs with real-time priority (it asks; a busy machine delays it otherwise). */
  realtime: boolean;
}

export interface DelayLine {
  set(d: DelaySetting): Promise<void>;
  stats(): Promise<DelayLineStats>;
  stop(): Promise<void>;
}

let binary: Promise<string> | undefined;

/** The compiled forwarder, built on first use (gcc installed with apt when missing, or one clear error). */
export function delayLineBinary(): Promise<string> {
  binary ??= (async () => {
    const source = readFileSync(SOURCE);
    const out = join(tmpdir(), `songcheck-delay-line-${createHash('sha256').update(source).digest('hex').slice(0, 16)}`);
    if (existsSync(out)) return out;
    const gcc = await ensureCommand('gcc', 'gcc');
    const tmp = `${out}.${process.pid}.tmp`;
    try {
      await run(gcc, ['-O2', '-Wall', '-o', tmp, fileURLToPath(SOURCE)], { timeout: 60_000 });
    } catch (err) {
      throw new Error(`the lab's delay line did not compile (${(err as { stderr?: string }).stderr?.trim().split('\n')[0] ?? (err as Error).message})`);
    }
    renameSync(tmp, out); // atomic: parallel workers never run a half-written binary
    return out;
  })();
  binary.catch(() => (binary = undefined));
  return binary;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  // The forwarder also exits when its stdin closes; this covers a parent that exits with the pipe still open.
  for (const c of children) c.kill('SIGKILL');
});

/**
 * Starts the forwarder between TUN device `serverDev` in `serverNs` and `clientDev` in `clientNs`. The caller
 * brings the devices up and routes through them (netlab.ts).
 */
export async function startDelayLine(serverNs: string, serverDev: string, clientNs: string, clientDev: string): Promise<DelayLine> {
  const bin = await delayLineBinary();
  const child = spawn(bin, [`/run/netns/${serverNs}`, serverDev, `/run/netns/${clientNs}`, clientDev], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const exited = new Promise<void>((resolve) => child.once('exit', () => (children.delete(child), resolve())));

  /** The next line the forwarder prints, within 5 s. */
  const nextLine = (what: string) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the delay line did not answer ${what} in 5 s: ${stderr.trim()}`)), 5_000);
      const onExit = () => (clearTimeout(timer), reject(new Error(`the delay line exited: ${stderr.trim() || `code ${child.exitCode}`}`)));
      child.once('exit', onExit);
      waiting.push((line) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(line);
      });
    });
  const ask = async (cmd: string): Promise<string> => {
    const answer = nextLine(cmd);
    child.stdin!.write(`${cmd}\n`);
    return answer;
  };

  try {
    const ready = await nextLine('its start');
    if (ready !== 'ready') throw new Error(`the delay line said ${JSON.stringify(ready)} instead of ready`);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  return {
    async set({ rttMs, jitterMs = 0 }) {
      const answer = await ask(`set ${rttMs} ${jitterMs}`);
      if (answer !== 'ok') throw new Error(`the delay line refused rtt ${rttMs} ms, jitter ${jitterMs} ms: ${answer}`);
    },
    async stats() {
      const answer = await ask('stats');
      const n = answer.split(' ').slice(1).map(Number);
      if (!answer.startsWith('stats ') || n.length !== 9 || n.some((x) => !Number.isFinite(x))) throw new Error(`the delay line's stats are unreadable: ${answer}`);
      return {
        forwarded: { serverToClient: n[0]!, clientToServer: n[1]! },
        dropped: { serverToClient: n[2]!, clientToServer: n[3]! },
        maxQueue: { serverToClient: n[4]!, clientToServer: n[5]! },
        lateMaxUs: n[6]!,
        lateMeanUs: n[7]!,
        realtime: n[8] === 1,
      };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

