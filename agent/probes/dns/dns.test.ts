import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Result } from '../../../protocol/results.ts';
import { ctxWith, PINNED_NOW } from '../../../test/support/agent-probes.ts';
import { DnsOptions } from '../../../protocol/probe-options/dns.ts';
import { dnsProbe } from './index.ts';

const A = 1;
const AAAA = 28;

/** Reads the question of a query: its name, type, and where it ends (the answer copies it verbatim). */
function question(msg: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let i = 12;
  // Bounded by the message: a label length byte, then that many bytes, until the zero root label.
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i] as number;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1), end: i + 5 };
}

function answer(query: Buffer, rcode: number, rdatas: Buffer[], type: number): Buffer {
  const q = question(query);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // same id
  header.writeUInt16BE(0x8180 | rcode, 2); // response, recursion desired + available
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rdatas.length, 6);
  const records = rdatas.map((rdata) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(type, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, query.subarray(12, q.end), ...records]);
}

/** A tiny authoritative-looking server for a handful of names, on 127.0.0.1 only. */
function handle(msg: Buffer): Buffer | undefined {
  const q = question(msg);
  switch (q.name) {
    case 'school.example':
      return q.type === AAAA
        ? answer(msg, 0, [Buffer.from('20010db8000000000000000000000010', 'hex')], AAAA)
        : answer(msg, 0, [Buffer.from([192, 0, 2, 10]), Buffer.from([192, 0, 2, 11])], A);
    case 'nodata.example':
      return answer(msg, 0, [], q.type);
    case 'servfail.example':
      return answer(msg, 2, [], q.type);
    case 'slow.example':
      return undefined; // never answers
    default:
      return answer(msg, 3, [], q.type); // NXDOMAIN
  }
}

describe('dns probe', () => {
  let server: Socket;
  let servers: string[];
  beforeAll(async () => {
    server = createSocket('udp4');
    server.on('message', (msg, from) => {
      const reply = handle(msg);
      if (reply) server.send(reply, from.port, from.address);
    });
    server.bind(0, '127.0.0.1');
    await once(server, 'listening');
    servers = [`127.0.0.1:${(server.address() as AddressInfo).port}`];
  });
  afterAll(() => server.close());

  const opts = (o: Partial<DnsOptions> = {}) => DnsOptions.parse({ servers, timeoutMs: 1000, ...o });

  it('counts A answers and times them', async () => {
    const r = await dnsProbe.run('school.example', opts(), ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r).toMatchObject({ probe: 'dns', code: 'ok', measuredAt: PINNED_NOW });
    expect(r.fields).toMatchObject({ answers: 2, server: servers[0] });
    expect((r.fields as { resolve_ms: number }).resolve_ms).toBeGreaterThanOrEqual(0);
  });

  it('asks for AAAA when told', async () => {
    const r = await dnsProbe.run('school.example', opts({ rrtype: 'AAAA' }), ctxWith());
    expect(r.code).toBe('ok');
    expect(r.fields).toMatchObject({ answers: 1 });
  });

  it('reports NXDOMAIN as dns_error, still timing the answer', async () => {
    const r = await dnsProbe.run('missing.example', opts(), ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('dns_error');
    expect(r.detail).toMatch(/NXDOMAIN/);
    expect(r.fields).toMatchObject({ answers: 0 });
    expect(r.fields).toHaveProperty('resolve_ms');
  });

  it('reports an empty answer and SERVFAIL as dns_error', async () => {
    const empty = await dnsProbe.run('nodata.example', opts(), ctxWith());
    expect(empty.code).toBe('dns_error');
    expect(empty.detail).toMatch(/no records/);
    const fail = await dnsProbe.run('servfail.example', opts(), ctxWith());
    expect(fail.code).toBe('dns_error');
    expect(fail.detail).toMatch(/SERVFAIL/);
  });

  it('reports timeout when the server never answers', async () => {
    const r = await dnsProbe.run('slow.example', opts({ timeoutMs: 200 }), ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('timeout');
    expect(r.fields).toEqual({ answers: 0, server: servers[0] });
  });

  it('stops when the run is aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await dnsProbe.run('slow.example', opts({ timeoutMs: 5000 }), ctxWith(ac.signal));
    expect(r.code).toBe('error');
    expect(r.detail).toBe('aborted');
  });

  it('refuses an IP literal and a malformed server as error results', async () => {
    expect((await dnsProbe.run('192.0.2.1', opts(), ctxWith())).code).toBe('error');
    const r = await dnsProbe.run('school.example', opts({ servers: ['not an address'] }), ctxWith());
    expect(r.code).toBe('error');
    expect(r.detail).toMatch(/servers/);
  });

  it('defaults to the collector name, and to nothing for an IP literal', () => {
    expect(dnsProbe.defaultTargets({ collectorUrl: 'https://songcheck.laocai.edu.vn:8443/' })).toEqual(['songcheck.laocai.edu.vn']);
    expect(dnsProbe.defaultTargets({ collectorUrl: 'http://10.0.0.5:8080' })).toEqual([]);
    expect(dnsProbe.defaultTargets({ collectorUrl: 'http://[2001:db8::1]/' })).toEqual([]);
  });
});
