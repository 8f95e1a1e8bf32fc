// The path to the router: parsers of the kernel's and PowerShell's numeric output, the LAN rules, and real
// TCP handshakes on loopback (an open port is accepted, a closed one answers RST: both are round trips).
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayResult } from '../../../protocol/results.ts';
import { lanVerdictForLatency, lanVerdictForThroughput } from '../lan/attribution.ts';
import { answeringPort, handshake } from '../lan/handshake.ts';
import { gatewayFields } from './index.ts';
import { latestLan, observeLan, withLanAttribution } from '../lan/observation.ts';
import { parseIwLink, parseProcNetWireless, parseWindowsLink } from '../../net/local-link.ts';

describe('local link parsers', () => {
  it('reads the Wi-Fi signal from /proc/net/wireless and the PHY rates from iw', () => {
    const wireless = 'Inter-| sta-|   Quality        |   Discarded packets\n face | tus | link level noise |  nwid  crypt\n wlan0: 0000   54.  -56.  -256        0      0\n';
    expect(parseProcNetWireless(wireless, 'wlan0')).toBe(-56);
    expect(parseProcNetWireless(wireless, 'wlan1')).toBeUndefined();
    expect(parseIwLink('Connected to aa:bb (on wlan0)\n\tsignal: -71 dBm\n\trx bitrate: 6.5 MBit/s MCS 0\n\ttx bitrate: 6.0 MBit/s\n')).toEqual({ txMbps: 6, rxMbps: 6.5, signalDbm: -71 });
  });

  it('reads PowerShell numbers only: medium 9 is Wi-Fi, speeds in bit/s, a missing route is nothing', () => {
    expect(parseWindowsLink('{"gateway":"192.168.1.1","iface":"Wi-Fi","medium":9,"rx":72200000,"tx":6000000,"signal":-70}')).toEqual({ gateway: '192.168.1.1', iface: 'Wi-Fi', medium: 'wifi', linkMbps: 6, rxLinkMbps: 72.2, wifiSignalDbm: -70 });
    expect(parseWindowsLink('{"gateway":"10.0.0.1","iface":"Ethernet","medium":0,"rx":1e9,"tx":1e9,"signal":null}')).toMatchObject({ medium: 'wired', linkMbps: 1000 });
    expect(parseWindowsLink('{}')).toBeUndefined();
    expect(parseWindowsLink('not json')).toBeUndefined();
  });
});

describe('LAN rules', () => {
  const wifi = { gateway: '192.168.1.1', medium: 'wifi' as const, linkMbps: 6, wifiSignalDbm: -78 };
  it('blames a Wi-Fi whose link rate the test reached, and says so', () => {
    expect(lanVerdictForThroughput({ link: wifi, direction: 'upload', mbps: 3.5 })).toEqual({ bottleneck: true, reason: 'Wi-Fi link rate 6 Mbit/s at the time, signal -78 dBm' });
    expect(lanVerdictForThroughput({ link: { ...wifi, linkMbps: 300 }, direction: 'upload', mbps: 3.5 }).bottleneck).toBe(false);
  });
  it('blames the LAN when the router’s round trip rose with the server’s, not when only the server’s rose', () => {
    const wired = { gateway: '10.0.0.1', medium: 'wired' as const };
    expect(lanVerdictForThroughput({ link: wired, direction: 'download', mbps: 5, gatewayIdleMs: 1, gatewayLoadedMs: 60, serverIdleMs: 30, serverLoadedMs: 100 }).reason).toBe(
      "the round trip to the school's router rose from 1 to 60 ms under load",
    );
    expect(lanVerdictForThroughput({ link: wired, direction: 'download', mbps: 5, gatewayIdleMs: 1, gatewayLoadedMs: 3, serverIdleMs: 30, serverLoadedMs: 300 }).bottleneck).toBe(false);
  });
  it('never blames the LAN when the modem is in this computer', () => {
    expect(lanVerdictForThroughput({ link: { gateway: '10.64.0.1', medium: 'cellular', linkMbps: 1 }, direction: 'download', mbps: 5 }).bottleneck).toBe(false);
    expect(lanVerdictForLatency({ link: { gateway: '10.64.0.1', medium: 'cellular' }, gatewayRttMs: 50, serverRttMs: 60 }).bottleneck).toBe(false);
    expect(lanVerdictForLatency({ link: wifi, gatewayRttMs: 40, serverRttMs: 60 }).reason).toBe("the school's router alone took 40 of the 60 ms round trip over Wi-Fi, signal -78 dBm");
  });
});

describe('handshakes to the router', () => {
  let server: Server;
  let open: number;
  let closed: number;
  beforeAll(async () => {
    server = createServer((s) => s.destroy()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    open = (server.address() as { port: number }).port;
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    closed = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('times an accepted handshake and a RST alike; silence would be loss', async () => {
    const signal = new AbortController().signal;
    expect(await handshake('127.0.0.1', open, 1000, signal)).toMatchObject({ answer: 'accepted' });
    expect(await handshake('127.0.0.1', closed, 1000, signal)).toMatchObject({ answer: 'reset' });
    expect(await answeringPort('127.0.0.1', [closed, open], 1000, signal)).toBe(closed);
  });

  it('observes the router, keeps the look for latency runs, and makes a valid result', async () => {
    const now = Date.now();
    const obs = (await observeLan(new AbortController().signal, { count: 3, intervalMs: 10, timeoutMs: 1000, ports: [closed], now: () => now, link: { gateway: '127.0.0.1', medium: 'wifi', linkMbps: 6 } }))!;
    expect(obs.port).toBe(closed);
    expect(obs.idle).toMatchObject({ sent: 3, received: 3, loss_pct: 0 });
    expect(latestLan(now + 1000, 60_000)).toBe(obs);
    const r = GatewayResult.parse({ id: 'gw-test-0001', probe: 'gateway', target: 'gateway', measuredAt: now, code: 'ok', fields: gatewayFields(obs) });
    expect(r.fields).toMatchObject({ lan_medium: 'wifi', link_mbps: 6, port: closed });
    // A loopback router answers in well under a millisecond: never most of a 50 ms round trip.
    expect(withLanAttribution({ sent: 5, received: 5, loss_pct: 0, rtt_median_ms: 50 }, now + 1000)).toMatchObject({ gateway_rtt_ms: obs.idle.rtt_median_ms });
    expect(withLanAttribution({ sent: 5, received: 5, loss_pct: 0, rtt_median_ms: 50 }, now + 1000).lan_bottleneck).toBeUndefined();
  });
});
