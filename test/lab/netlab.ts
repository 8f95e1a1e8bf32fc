// The network lab: two network namespaces joined by a veth pair, a "server" side (the collector, iperf3 -s)
// and a "client" side (the agent, iperf3 -c). Each direction is shaped on its sender's veth end with tc tbf
// (egress: the server end shapes the download, the client end the upload); loss is iptables' statistic
// match. netem is not available in this kernel: round-trip delay comes from a user-space delay line between two
// TUN devices (delay-line.ts), attached on the first setDelay(). From then on the namespaces route each other's
// address through the TUN devices, and tbf and loss move onto them (the veth pair carries nothing but ARP).
//
// Every name and address is the lab's own: namespaces `sc<pid36>-<n>-{s,c}`, veths `sc<pid36><n>{s,c}`,
// addresses 10.213.<n>.1 and .2 on a /30. Nothing is added to the root namespace but the (moved) veth pair.
// destroy() deletes both namespaces (which removes the veth pair, qdiscs and rules with them); it runs at
// process exit too, so a failing test leaves nothing behind.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureCommand } from '../../scripts/system-deps.ts';
import { startDelayLine, type DelayLine, type DelayLineStats, type DelaySetting } from './delay-line.ts';

const run = promisify(execFile);

export interface Shape {
  /** Mbit/s from the server side to the client side. */
  downMbit: number;
  /** Mbit/s from the client side to the server side. */
  upMbit: number;
  /** Random drop probability (0–1) of packets in each direction, with iptables' statistic match. */
  loss?: number;
  /** tbf's queue, in ms at the rate (default 50). Long paths want a deeper queue, as real cell buffers are. */
  queueMs?: number;
  /**
   * A boost: tbf lets `boostBytes` through at up to `peakMbit` before the sustained rate applies (tbf's burst
   * and peakrate), on the download. The bucket refills at the sustained rate while the link is idle.
   */
  boost?: { boostBytes: number; peakMbit: number };
}

export interface Lab {
  serverNs: string;
  clientNs: string;
  serverIp: string;
  clientIp: string;
  /** Replaces the shaping of both directions. */
  shape(s: Shape): Promise<void>;
  /**
   * Adds round-trip delay (and jitter) with the TUN delay line; the first call attaches it and re-applies the
   * last shape on the TUN devices. { rttMs: 0 } keeps the delay line with no added delay.
   */
  setDelay(d: DelaySetting): Promise<void>;
  /** The delay line's counters (forwarded, dropped, its own lateness), or undefined before setDelay(). */
  delayStats(): Promise<DelayLineStats | undefined>;
  /** Link up or down (both ends), to cut a test mid-way. */
  setLink(up: boolean): Promise<void>;
  /** Spawns a command inside a namespace. */
  spawnIn(side: 'server' | 'client', cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Runs a command inside a namespace to completion (bounded by timeoutMs). */
  execIn(side: 'server' | 'client', cmd: string, args: string[], timeoutMs?: number, env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>;
  destroy(): Promise<void>;
}

let counter = 0;
const live = new Set<string>();
let tools: { ip: string; tc: string; iptables: string; iperf3: string } | undefined;

/** At exit nothing async runs any more: namespaces still listed are deleted synchronously. */
function cleanupSync(): void {
  for (const ns of live) spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore', timeout: 5_000 });
  live.clear();
}
process.on('exit', cleanupSync);

/** Other lab shapes (router-lab.ts) list their namespaces here too, so the exit hook deletes them. */
export function trackNamespace(ns: string, alive: boolean): void {
  if (alive) live.add(ns);
  else live.delete(ns);
}

/** ip, tc, iptables and iperf3, installed with apt when missing (as the rest of the suite installs influxd). */
export async function labTools() {
  if (!tools) {
    tools = {
      ip: await ensureCommand('ip', 'iproute2'),
      tc: await ensureCommand('tc', 'iproute2'),
      iptables: await ensureCommand('iptables', 'iptables'),
      iperf3: await ensureCommand('iperf3', 'iperf3'),
    };
  }
  return tools;
}

/** Whether this machine can run the lab at all: root and network namespaces. */
export function labAvailable(): string | undefined {
  if (process.platform !== 'linux') return 'the network lab needs Linux';
  if (process.getuid?.() !== 0) return 'the network lab needs root (network namespaces, tc, iptables)';
  return undefined;
}

async function sh(cmd: string, args: string[], timeoutMs = 15_000): Promise<void> {
  await run(cmd, args, { timeout: timeoutMs });
}

/**
 * tbf's arguments for one direction. Burst: 10 ms at the rate (at least 2 full frames); queue: `queueMs` at the
 * rate (what tbf calls latency). A boost is a bucket of boostBytes emptied at up to peakMbit (tbf needs an mtu
 * with a peakrate: one full frame).
 */
export function tbfArgs(mbit: number, queueMs: number, boost?: { boostBytes: number; peakMbit: number }): string[] {
  const burst = boost ? Math.round(boost.boostBytes) : Math.max(3028, Math.round((mbit * 1e6) / 8 / 100));
  return [
    'rate', `${mbit}mbit`, 'burst', String(burst), 'latency', `${queueMs}ms`,
    ...(boost ? ['peakrate', `${boost.peakMbit}mbit`, 'mtu', '1514'] : []),
  ];
}

export async function createLab(): Promise<Lab> {
  const t = await labTools();
  const n = (process.pid * 7 + counter++) % 250;
  const tag = `sc${process.pid.toString(36)}${counter}`;
  const serverNs = `${tag}-s`;
  const clientNs = `${tag}-c`;
  const sVeth = `${tag}s`.slice(0, 15);
  const cVeth = `${tag}c`.slice(0, 15);
  const serverIp = `10.213.${n}.1`;
  const clientIp = `10.213.${n}.2`;
  live.add(serverNs);
  live.add(clientNs);
  // The devices that carry the traffic: the veth pair, or the TUN devices once the delay line is attached.
  let sDev = sVeth;
  let cDev = cVeth;
  let delayLine: DelayLine | undefined;
  let lastShape: Shape | undefined;
  const lab: Lab = {
    serverNs,
    clientNs,
    serverIp,
    clientIp,
    async shape(s) {
      lastShape = s;
      for (const [ns, dev, mbit, boost] of [
        [serverNs, sDev, s.downMbit, s.boost],
        [clientNs, cDev, s.upMbit, undefined],
      ] as const) {
        await run(t.tc, ['-n', ns, 'qdisc', 'del', 'dev', dev, 'root']).catch(() => {});
        await sh(t.tc, ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'tbf', ...tbfArgs(mbit, s.queueMs ?? 50, boost)]);
        await run(t.ip, ['netns', 'exec', ns, t.iptables, '-F', 'INPUT']).catch(() => {});
        if (s.loss && s.loss > 0) {
          await sh(t.ip, ['netns', 'exec', ns, t.iptables, '-A', 'INPUT', '-i', dev, '-m', 'statistic', '--mode', 'random', '--probability', String(s.loss), '-j', 'DROP']);
        }
      }
    },
    async setDelay(d) {
      if (!delayLine) {
        const sTun = `${tag}ts`.slice(0, 15);
        const cTun = `${tag}tc`.slice(0, 15);
        delayLine = await startDelayLine(serverNs, sTun, clientNs, cTun);
        for (const [ns, dev, peer, src] of [
          [serverNs, sTun, clientIp, serverIp],
          [clientNs, cTun, serverIp, clientIp],
        ] as const) {
          await sh(t.ip, ['-n', ns, 'link', 'set', dev, 'up']);
          // A /32 beats the veth's /30: the peer is reached through the delay line from now on.
          await sh(t.ip, ['-n', ns, 'route', 'add', `${peer}/32`, 'dev', dev, 'src', src]);
        }
        for (const [ns, dev] of [
          [serverNs, sVeth],
          [clientNs, cVeth],
        ] as const) {
          await run(t.tc, ['-n', ns, 'qdisc', 'del', 'dev', dev, 'root']).catch(() => {});
        }
        sDev = sTun;
        cDev = cTun;
        if (lastShape) await lab.shape(lastShape);
      }
      await delayLine.set(d);
    },
    async delayStats() {
      return delayLine?.stats();
    },
    async setLink(up) {
      // Both the veth pair and (when attached) the TUN devices: whichever carries the traffic is cut.
      for (const [ns, devs] of [
        [serverNs, [sVeth, sDev]],
        [clientNs, [cVeth, cDev]],
      ] as const) {
        for (const dev of new Set(devs)) await sh(t.ip, ['-n', ns, 'link', 'set', dev, up ? 'up' : 'down']);
      }
    },
    spawnIn(side, cmd, args, env = {}) {
      return spawn(t.ip, ['netns', 'exec', side === 'server' ? serverNs : clientNs, cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    execIn(side, cmd, args, timeoutMs = 60_000, env = {}) {
      return new Promise((resolve) => {
        const child = lab.spawnIn(side, cmd, args, env);
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, stdout, stderr });
        });
      });
    },
    async destroy() {
      await delayLine?.stop();
      delayLine = undefined;
      for (const ns of [serverNs, clientNs]) {
        await run(t.ip, ['netns', 'delete', ns]).catch(() => {});
        live.delete(ns);
      }
    },
  };
  try {
    await sh(t.ip, ['netns', 'add', serverNs]);
    await sh(t.ip, ['netns', 'add', clientNs]);
    await sh(t.ip, ['link', 'add', sVeth, 'type', 'veth', 'peer', 'name', cVeth]);
    await sh(t.ip, ['link', 'set', sVeth, 'netns', serverNs]);
    await sh(t.ip, ['link', 'set', cVeth, 'netns', clientNs]);
    await sh(t.ip, ['-n', serverNs, 'addr', 'add', `${serverIp}/30`, 'dev', sVeth]);
    await sh(t.ip, ['-n', clientNs, 'addr', 'add', `${clientIp}/30`, 'dev', cVeth]);
    for (const [ns, dev] of [
      [serverNs, sVeth],
      [clientNs, cVeth],
    ] as const) {
      await sh(t.ip, ['-n', ns, 'link', 'set', 'lo', 'up']);
      await sh(t.ip, ['-n', ns, 'link', 'set', dev, 'up']);
    }
    // SONGCHECK_LAB_TCP_CC=reno: the whole lab run under another congestion control (investigations; see below).
    const cc = process.env.SONGCHECK_LAB_TCP_CC;
    if (cc) await setCongestionControl(lab, cc as TcpCongestionControl);
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}

export type TcpCongestionControl = 'reno' | 'bbr' | 'cubic';

/**
 * The default TCP congestion control of both ends' namespaces (each network namespace has its own, starting
 * from this machine's: BBR here): sockets opened afterwards use it, iperf3's and songcheck's alike. BBR paces at
 * its estimate of the bottleneck and keeps the queue short; loss-based ones (CUBIC, Linux's and Windows' default;
 * Reno) fill the queue until loss. A namespace other than the first may only pick a congestion control the
 * machine allows (`net.ipv4.tcp_allowed_congestion_control`: here reno and bbr, so CUBIC is refused; a process
 * with CAP_NET_ADMIN can still ask for CUBIC per socket, as iperf3 -C does; Node cannot).
 */
export async function setCongestionControl(lab: Pick<Lab, 'execIn'>, cc: TcpCongestionControl): Promise<void> {
  for (const side of ['server', 'client'] as const) {
    const r = await lab.execIn(side, 'sh', ['-c', `echo ${cc} > /proc/sys/net/ipv4/tcp_congestion_control && cat /proc/sys/net/ipv4/tcp_congestion_control`], 10_000);
    if (r.code !== 0 || r.stdout.trim() !== cc) throw new Error(`could not set TCP congestion control ${cc} in the lab's ${side} namespace (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
}
