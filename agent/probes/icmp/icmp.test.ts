import { describe, expect, it } from 'vitest';
import { ensureCommand } from '../../../scripts/system-deps.ts';
import { Result } from '../../../protocol/results.ts';
import { ctxWith, PINNED_NOW } from '../../../test/support/agent-probes.ts';
import { pingCommand } from './command.ts';
import { IcmpOptions } from '../../../protocol/probe-options/icmp.ts';
import { icmpProbe } from './index.ts';

const plan = { count: 3, intervalMs: 200, timeoutMs: 1500, address: '192.0.2.1', family: 4 as const };

describe('pingCommand', () => {
  it('builds Linux arguments (whole-second wait, interval in seconds)', () => {
    expect(pingCommand('linux', plan)).toEqual({
      file: 'ping',
      args: ['-n', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.1'],
      deadlineMs: 2 * 200 + 2000 + 2000,
    });
  });

  it('builds Windows arguments (count and per-echo wait in ms)', () => {
    expect(pingCommand('win32', plan).args).toEqual(['-n', '3', '-w', '1500', '192.0.2.1']);
  });

  it('builds macOS arguments, with ping6 for IPv6', () => {
    expect(pingCommand('darwin', plan).args).toEqual(['-n', '-c', '3', '-i', '0.2', '-W', '1500', '192.0.2.1']);
    expect(pingCommand('darwin', { ...plan, address: '2001:db8::1', family: 6 }).file).toBe('ping6');
  });

  it('raises intervals below the unprivileged floor and honours an explicit binary', () => {
    const cmd = pingCommand('linux', { ...plan, intervalMs: 50, count: 1 }, '/opt/bin/ping');
    expect(cmd.file).toBe('/opt/bin/ping');
    expect(cmd.args).toContain('0.2');
    expect(pingCommand('linux', { ...plan, intervalMs: 1250 }).args).toContain('1.25');
  });
});

// The real system ping is part of what is tested: install it like every other system dependency.
await ensureCommand('ping', 'iputils-ping');

describe('icmp probe', () => {
  const fast = IcmpOptions.parse({ count: 2, intervalMs: 200, timeoutMs: 1000 });

  it('pings 127.0.0.1 with the real system ping', async () => {
    const r = await icmpProbe.run('127.0.0.1', fast, ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r).toMatchObject({ probe: 'icmp', target: '127.0.0.1', code: 'ok', measuredAt: PINNED_NOW });
    expect(r.fields).toMatchObject({ sent: 2, received: 2, loss_pct: 0 });
    expect(r.fields).toHaveProperty('rtt_median_ms');
  });

  it('reports unavailable when the ping program is missing', async () => {
    const r = await icmpProbe.run('127.0.0.1', { ...fast, binary: '/nonexistent/songcheck-ping' }, ctxWith());
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('unavailable');
    expect(r.detail).toMatch(/ENOENT/);
    expect(r.fields).toEqual({ sent: 0, received: 0, loss_pct: 100 });
  });

  it('reports dns_error before running ping when the name does not resolve', async () => {
    const r = await icmpProbe.run('bad..name', fast, ctxWith());
    expect(r.code).toBe('dns_error');
  });

  it('refuses a target that could be read as an option', async () => {
    const r = await icmpProbe.run('-f', fast, ctxWith());
    expect(r.code).toBe('error');
  });

  it('returns what it has when the run is aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new DOMException('limit', 'TimeoutError')), 400);
    const r = await icmpProbe.run('127.0.0.1', IcmpOptions.parse({ count: 10, intervalMs: 1000 }), ctxWith(ac.signal));
    expect(Result.parse(r)).toEqual(r);
    expect(r.code).toBe('ok');
    expect(r.fields).toMatchObject({ sent: 1, received: 1 });
    expect(r.detail).toBe('stopped early after 1 reply');
  });

  it('defaults to the collector host', () => {
    expect(icmpProbe.defaultTargets({ collectorUrl: 'http://[2001:db8::1]:8080/' })).toEqual(['2001:db8::1']);
    expect(icmpProbe.defaultTargets({})).toEqual([]);
  });
});
