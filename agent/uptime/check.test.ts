import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, listen } from '../../test/support/agent-probes.ts';
import { checkConnectivity, checkState } from './check.ts';

describe('checkState', () => {
  it('follows the table of docs/uptime.md', () => {
    expect(checkState(true, true, true)).toBe('up');
    expect(checkState(true, false, true)).toBe('up');
    expect(checkState(false, true, true)).toBe('collector_down');
    expect(checkState(false, true, false)).toBe('dns_down');
    expect(checkState(true, false, false)).toBe('dns_down');
    expect(checkState(false, false, true)).toBe('link_down');
    expect(checkState(false, false, false)).toBe('link_down');
  });
});

describe('checkConnectivity against loopback sockets', () => {
  let server: Server;
  let open: number;
  let closed: number;
  beforeAll(async () => {
    server = createServer((s) => s.destroy());
    open = await listen(server);
    closed = await closedPort();
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const signal = new AbortController().signal;

  it('is up when the collector and an outside target answer and the name resolves', async () => {
    const o = await checkConnectivity({ collector: { host: '127.0.0.1', port: open }, outside: [`127.0.0.1:${closed}`, `127.0.0.1:${open}`], dnsName: 'localhost', timeoutMs: 2000 }, signal);
    expect(o).toMatchObject({ state: 'up', collector: true, outside: true, dns: true });
    expect(o.detail).toBeUndefined();
  });

  it('is collector_down when only the collector refuses, and says why', async () => {
    const o = await checkConnectivity({ collector: { host: '127.0.0.1', port: closed }, outside: [`127.0.0.1:${open}`], dnsName: 'localhost', timeoutMs: 2000 }, signal);
    expect(o.state).toBe('collector_down');
    expect(o.detail).toMatch(/collector: refused/);
  });

  it('is link_down when nothing answers, and dns_down when only the name fails', async () => {
    const down = await checkConnectivity({ collector: { host: '127.0.0.1', port: closed }, outside: [`127.0.0.1:${closed}`], dnsName: 'localhost', timeoutMs: 2000 }, signal);
    expect(down.state).toBe('link_down');
    const dns = await checkConnectivity({ collector: { host: '127.0.0.1', port: open }, outside: [`127.0.0.1:${open}`], dnsName: 'no-such-name.invalid', timeoutMs: 2000 }, signal);
    expect(dns).toMatchObject({ state: 'dns_down', dns: false });
  });

  it('never throws: a malformed outside target and no collector are failed sub-checks', async () => {
    const o = await checkConnectivity({ outside: ['not a target'], timeoutMs: 500 }, signal);
    expect(o).toMatchObject({ state: 'link_down', collector: false, outside: false, dns: true });
  });
});
