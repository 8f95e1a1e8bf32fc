import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCommand } from '../../../scripts/system-deps.ts';
import { Result } from '../../../protocol/results.ts';
import { closedPort, ctxWith, listen, PINNED_NOW } from '../../../test/support/agent-probes.ts';
import { TcpOptions } from '../../../protocol/probe-options/tcp.ts';
import { tcpProbe } from './index.ts';

const fast = TcpOptions.parse({ count: 3, intervalMs: 0, timeoutMs: 1000 });

describe('tcp probe', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((s) => s.destroy());
    port = await listen(server);
  });
  afterAll(() => server.close());

  it('measures every connect to a listening loopback server', async () => {
    const r = await tcpProbe.run(`127.0.0.1:${port}`, fast, ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r).toMatchObject({ probe: 'tcp', target: `127.0.0.1:${port}`, code: 'ok', measuredAt: PINNED_NOW });
    expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.fields).toMatchObject({ sent: 3, received: 3, loss_pct: 0 });
    expect(r.fields).toHaveProperty('jitter_ms');
    expect(r.detail).toBeUndefined();
  });

  it('resolves a name once and connects to it', async () => {
    const r = await tcpProbe.run(`localhost:${port}`, TcpOptions.parse({ count: 1 }), ctxWith());
    // localhost may resolve to ::1 first while the server is on 127.0.0.1 only; either way it is one attempt.
    expect(['ok', 'refused']).toContain(r.code);
    expect(r.fields).toMatchObject({ sent: 1 });
  });

  it('reports refused against a closed port', async () => {
    const r = await tcpProbe.run(`127.0.0.1:${await closedPort()}`, fast, ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('refused');
    expect(r.fields).toEqual({ sent: 3, received: 0, loss_pct: 100 });
    expect(r.detail).toMatch(/ECONNREFUSED.*\(x3\)/);
  });

  it('reports dns_error, with nothing sent, when the name does not resolve', async () => {
    // An empty label fails inside getaddrinfo, before any query leaves this machine.
    const r = await tcpProbe.run('bad..name:443', fast, ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('dns_error');
    expect(r.fields).toEqual({ sent: 0, received: 0, loss_pct: 100 });
  });

  it('rejects malformed targets as a result, not a throw', async () => {
    for (const target of ['no-port', '::1:443', 'host:99999', '[nothex]:80']) {
      const r = await tcpProbe.run(target, fast, ctxWith());
      expect(r.code, target).toBe('error');
      expect(Result.safeParse(r).success).toBe(true);
    }
  });

  it('turns invalid options into an error result', async () => {
    const r = await tcpProbe.run(`127.0.0.1:${port}`, { count: 0 } as never, ctxWith());
    expect(r.code).toBe('error');
    expect(r.detail).toMatch(/unexpected/);
  });

  it('connects over IPv6 loopback when the host has it', async () => {
    const v6 = createServer((s) => s.destroy());
    let v6port: number;
    try {
      v6port = await listen(v6, '::1');
    } catch {
      return; // no IPv6 loopback here; nothing to check
    }
    try {
      const r = await tcpProbe.run(`[::1]:${v6port}`, fast, ctxWith());
      expect(r.code).toBe('ok');
    } finally {
      v6.close();
    }
  });

  it('stops early on abort and still returns what it measured', async () => {
    const ac = new AbortController();
    const run = tcpProbe.run(`127.0.0.1:${port}`, TcpOptions.parse({ count: 5, intervalMs: 5000 }), ctxWith(ac.signal));
    setTimeout(() => ac.abort(new DOMException('run time limit', 'TimeoutError')), 100);
    const r = await run;
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('ok');
    expect(r.fields).toMatchObject({ sent: 1, received: 1 });
    expect(r.detail).toBe('stopped after 1 of 5 attempts');
  });

  it('maps an abort before the first attempt to timeout (time limit) or error (shutdown)', async () => {
    const limit = AbortSignal.abort(new DOMException('limit', 'TimeoutError'));
    expect((await tcpProbe.run(`127.0.0.1:${port}`, fast, ctxWith(limit))).code).toBe('timeout');
    expect((await tcpProbe.run(`127.0.0.1:${port}`, fast, ctxWith(AbortSignal.abort()))).code).toBe('error');
  });
});

await ensureCommand('python3', 'python3-minimal');

describe('tcp probe timeout (python3 gives a listener that never accepts)', () => {
  // Node accepts every connection itself, so the listener is a python socket with backlog 0 that never calls
  // accept(): once one connection waits in its queue, Linux drops further SYNs and connects go unanswered.
  let child: ChildProcess;
  let port: number;
  const fillers: Socket[] = [];
  beforeAll(async () => {
    child = spawn('python3', [
      '-c',
      "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()",
    ]);
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    port = Number(line.toString().trim());
    for (let i = 0; i < 2; i++) {
      const s = connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      fillers.push(s);
      await Promise.race([once(s, 'connect'), new Promise((r) => setTimeout(r, 200))]);
    }
  });
  afterAll(() => {
    for (const s of fillers) s.destroy();
    child.kill();
  });

  it('reports timeout when no attempt is answered in time', async () => {
    const r = await tcpProbe.run(`127.0.0.1:${port}`, TcpOptions.parse({ count: 2, intervalMs: 0, timeoutMs: 250 }), ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('timeout');
    expect(r.fields).toEqual({ sent: 2, received: 0, loss_pct: 100 });
  });
});

describe('tcp defaultTargets', () => {
  it('uses the collector host and port, defaulting the port from the scheme', () => {
    expect(tcpProbe.defaultTargets({ collectorUrl: 'https://songcheck.laocai.edu.vn' })).toEqual(['songcheck.laocai.edu.vn:443']);
    expect(tcpProbe.defaultTargets({ collectorUrl: 'http://10.0.0.5/' })).toEqual(['10.0.0.5:80']);
    expect(tcpProbe.defaultTargets({ collectorUrl: 'http://[2001:db8::1]:8080' })).toEqual(['[2001:db8::1]:8080']);
    expect(tcpProbe.defaultTargets({})).toEqual([]);
    expect(tcpProbe.defaultTargets({ collectorUrl: 'not a url' })).toEqual([]);
  });
});
