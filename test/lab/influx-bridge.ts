// Makes the test's InfluxDB (on the root namespace's loopback) reachable from the lab's server namespace:
// a Unix socket crosses network namespaces, so a relay in the root namespace listens on a socket file and a
// relay in the server namespace listens on its own 127.0.0.1:8086 and connects to that file.
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './netlab.ts';

export const BRIDGED_INFLUX_PORT = 8086;

export interface InfluxBridge {
  /** The InfluxDB URL as the server namespace sees it. */
  url: string;
  close(): Promise<void>;
}

function relay(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

export async function bridgeInflux(lab: Lab, influxUrl: string, dir: string): Promise<InfluxBridge> {
  const target = new URL(influxUrl);
  const sock = join(dir, 'influx.sock');
  const sockets = new Set<Socket>();
  const outer = createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    relay(c, connect({ host: target.hostname, port: Number(target.port) }));
  });
  await new Promise<void>((resolve, reject) => outer.once('error', reject).listen(sock, resolve));
  const script = `const net=require('node:net');net.createServer((c)=>{const u=net.connect(${JSON.stringify(sock)});c.pipe(u).pipe(c);for(const [x,y] of [[c,u],[u,c]]){x.on('error',()=>y.destroy());x.on('close',()=>y.destroy())}}).listen(${BRIDGED_INFLUX_PORT},'127.0.0.1',()=>console.log('bridge listening'))`;
  const inner: ChildProcess = lab.spawnIn('server', process.execPath, ['-e', script]);
  const close = async () => {
    inner.kill('SIGKILL');
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => outer.close(() => r()));
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the InfluxDB relay did not start in the lab:\n${out}`)), 15_000);
      const onData = (c: Buffer) => {
        out += c.toString();
        if (out.includes('bridge listening')) (clearTimeout(timer), resolve());
      };
      inner.stdout!.on('data', onData);
      inner.stderr!.on('data', onData);
      inner.once('exit', () => reject(new Error(`the InfluxDB relay exited:\n${out}`)));
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { url: `http://127.0.0.1:${BRIDGED_INFLUX_PORT}`, close };
}
