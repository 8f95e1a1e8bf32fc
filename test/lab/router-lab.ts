// A school's network in the lab: the collector's namespace (the "operator" side and the test server), a router
// namespace (the school's 4G router: it forwards, and answers TCP handshakes on its LAN address with RST, as a
// router with a closed port does) and the agent's namespace (a PC on the school's LAN, default route via the
// router). shape() shapes the operator side (server → router download, router → server upload); shapeLan() the
// LAN side (router → client, client → router). Addresses 10.216.<n>.0/30 (WAN) and 10.217.<n>.0/30 (LAN), all the
// lab's own; the namespaces are deleted by destroy() and, failing that, at process exit (netlab's hook).
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { type Lab, labTools, type Shape, tbfArgs, trackNamespace } from './netlab.ts';

const run = promisify(execFile);
let counter = 0;

export interface RouterLab extends Lab {
  routerNs: string;
  /** The router's LAN address: the agent's default gateway. */
  gatewayIp: string;
  /** Shapes the school's LAN (the PC's link to the router), Mbit/s each way. */
  shapeLan(s: { downMbit: number; upMbit: number }): Promise<void>;
}

export async function createRouterLab(): Promise<RouterLab> {
  const t = await labTools();
  const n = (process.pid * 13 + counter++) % 250;
  const tag = `sr${process.pid.toString(36)}${counter}`;
  const [serverNs, routerNs, clientNs] = [`${tag}-s`, `${tag}-r`, `${tag}-c`];
  const dev = { s: `${tag}s`.slice(0, 15), rw: `${tag}rw`.slice(0, 15), rl: `${tag}rl`.slice(0, 15), c: `${tag}c`.slice(0, 15) };
  const serverIp = `10.216.${n}.1`;
  const routerWanIp = `10.216.${n}.2`;
  const gatewayIp = `10.217.${n}.1`;
  const clientIp = `10.217.${n}.2`;
  const sh = (cmd: string, args: string[]) => run(cmd, args, { timeout: 15_000 });
  const tbf = async (ns: string, d: string, mbit: number) => {
    await run(t.tc, ['-n', ns, 'qdisc', 'del', 'dev', d, 'root']).catch(() => {});
    await sh(t.tc, ['-n', ns, 'qdisc', 'add', 'dev', d, 'root', 'tbf', ...tbfArgs(mbit, 50)]);
  };
  const nsOf = (side: 'server' | 'client') => (side === 'server' ? serverNs : clientNs);
  for (const ns of [serverNs, routerNs, clientNs]) trackNamespace(ns, true);
  const lab: RouterLab = {
    serverNs,
    clientNs,
    routerNs,
    serverIp,
    clientIp,
    gatewayIp,
    async shape(s: Shape) {
      await tbf(serverNs, dev.s, s.downMbit);
      await tbf(routerNs, dev.rw, s.upMbit);
    },
    async shapeLan(s) {
      await tbf(routerNs, dev.rl, s.downMbit);
      await tbf(clientNs, dev.c, s.upMbit);
    },
    async setDelay() {
      throw new Error('the router lab has no delay line');
    },
    async delayStats() {
      return undefined;
    },
    async setLink(up) {
      await sh(t.ip, ['-n', serverNs, 'link', 'set', dev.s, up ? 'up' : 'down']);
    },
    spawnIn(side, cmd, args, env = {}) {
      return spawn(t.ip, ['netns', 'exec', nsOf(side), cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
      for (const ns of [serverNs, routerNs, clientNs]) {
        await run(t.ip, ['netns', 'delete', ns]).catch(() => {});
        trackNamespace(ns, false);
      }
    },
  };
  try {
    for (const ns of [serverNs, routerNs, clientNs]) {
      await sh(t.ip, ['netns', 'add', ns]);
      await sh(t.ip, ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await sh(t.ip, ['link', 'add', dev.s, 'type', 'veth', 'peer', 'name', dev.rw]);
    await sh(t.ip, ['link', 'add', dev.rl, 'type', 'veth', 'peer', 'name', dev.c]);
    for (const [d, ns, addr] of [
      [dev.s, serverNs, `${serverIp}/30`],
      [dev.rw, routerNs, `${routerWanIp}/30`],
      [dev.rl, routerNs, `${gatewayIp}/30`],
      [dev.c, clientNs, `${clientIp}/30`],
    ] as const) {
      await sh(t.ip, ['link', 'set', d, 'netns', ns]);
      await sh(t.ip, ['-n', ns, 'addr', 'add', addr, 'dev', d]);
      await sh(t.ip, ['-n', ns, 'link', 'set', d, 'up']);
    }
    await sh(t.ip, ['netns', 'exec', routerNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await sh(t.ip, ['-n', serverNs, 'route', 'add', `10.217.${n}.0/30`, 'via', routerWanIp]);
    await sh(t.ip, ['-n', clientNs, 'route', 'add', 'default', 'via', gatewayIp]);
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}
