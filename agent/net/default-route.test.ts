import { describe, expect, it } from 'vitest';
import { parseProcNetRoute } from './default-route.ts';

describe('parseProcNetRoute', () => {
  it('reads the lowest-metric default route from /proc/net/route', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0',
      'eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0',
      'eth0\t000200C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0',
    ].join('\n');
    expect(parseProcNetRoute(text)).toEqual({ iface: 'eth0', gateway: '192.0.2.1' });
    expect(parseProcNetRoute(text.split('\n').slice(0, 1).join('\n'))).toBeUndefined();
  });

  it('skips routes that are down or have no gateway', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t010200C0\t0002\t0\t0\t100\t00000000\t0\t0\t0',
      'eth1\t00000000\t00000000\t0003\t0\t0\t100\t00000000\t0\t0\t0',
    ].join('\n');
    expect(parseProcNetRoute(text)).toBeUndefined();
  });
});
