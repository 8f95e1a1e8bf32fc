import { describe, expect, it } from 'vitest';
import { getProbe, PROBES } from './registry.ts';

describe('probe registry', () => {
  it('registers each probe under its own name', () => {
    expect(Object.keys(PROBES)).toEqual(['tcp', 'http', 'dns', 'icmp', 'gateway', 'throughput']);
    for (const [name, probe] of Object.entries(PROBES)) expect(probe.name).toBe(name);
  });

  it('gives every probe options that default from an empty or absent block', () => {
    for (const probe of Object.values(PROBES)) {
      expect(probe.options.safeParse({}).success, probe.name).toBe(true);
      expect(probe.options.safeParse(undefined).success, probe.name).toBe(true);
      expect(probe.options.safeParse({ notAnOption: 1 }).success, probe.name).toBe(false);
    }
  });

  it('derives default targets from the collector URL', () => {
    const ctx = { collectorUrl: 'https://songcheck.laocai.edu.vn' };
    expect(Object.fromEntries(Object.values(PROBES).map((p) => [p.name, p.defaultTargets(ctx)]))).toEqual({
      tcp: ['songcheck.laocai.edu.vn:443'],
      http: ['https://songcheck.laocai.edu.vn/api/v1/ping'],
      dns: ['songcheck.laocai.edu.vn'],
      icmp: ['songcheck.laocai.edu.vn'],
      gateway: ['gateway'],
      throughput: ['https://songcheck.laocai.edu.vn'],
    });
  });

  it('finds a probe by name and refuses unknown or inherited names', () => {
    expect(getProbe('tcp')).toBe(PROBES.tcp);
    expect(() => getProbe('smoke')).toThrow(/unknown probe 'smoke'/);
    expect(() => getProbe('toString')).toThrow(/unknown probe/);
  });
});
