import { describe, expect, it } from 'vitest';
import { PROBE_OPTIONS } from '../../protocol/probe-options/index.ts';
import { getProbe, PROBES } from './registry.ts';

describe('probe registry', () => {
  it('registers each probe under its own name', () => {
    expect(Object.keys(PROBES)).toEqual(['tcp', 'http', 'dns', 'icmp', 'gateway', 'throughput']);
    for (const [name, probe] of Object.entries(PROBES)) expect(probe.name).toBe(name);
  });

  it('registers an implementation for each options schema of protocol/, and nothing else', () => {
    expect(Object.keys(PROBES)).toEqual(Object.keys(PROBE_OPTIONS));
  });

  it('gives every probe options that default from an empty or absent block', () => {
    for (const [name, options] of Object.entries(PROBE_OPTIONS)) {
      expect(options.safeParse({}).success, name).toBe(true);
      expect(options.safeParse(undefined).success, name).toBe(true);
      expect(options.safeParse({ notAnOption: 1 }).success, name).toBe(false);
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
