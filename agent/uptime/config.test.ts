import { describe, expect, it } from 'vitest';
import { ConfigError, parseAgentConfig } from '../config.ts';
import { checkTargets, deviceTagOf } from './index.ts';

describe('connectivity config', () => {
  it('has defaults: every 60 s, two outside IP targets, the collector name for DNS', () => {
    const c = parseAgentConfig('{}').connectivity;
    expect(c).toMatchObject({ enabled: true, intervalSeconds: 60, timeoutSeconds: 3, outsideTargets: ['1.1.1.1:443', '8.8.8.8:443'] });
    expect(checkTargets(c, 'https://songcheck.example.vn')).toMatchObject({ collector: { host: 'songcheck.example.vn', port: 443 }, dnsName: 'songcheck.example.vn', timeoutMs: 3000 });
    expect(checkTargets(c, 'http://10.0.0.1:8080').dnsName).toBe('one.one.one.one');
  });

  it('names the bad line', () => {
    expect(() => parseAgentConfig('connectivity: { outsideTargets: ["1.1.1.1"] }')).toThrow(/connectivity.outsideTargets.0: must be host:port/);
    expect(() => parseAgentConfig('connectivity: { intervalSeconds: 5, timeoutSeconds: 3 }')).toThrow(/connectivity.timeoutSeconds: timeoutSeconds must be under half/);
    expect(() => parseAgentConfig('connectivity: { every: 5 }')).toThrow(ConfigError);
  });

  it('makes an id-safe device tag', () => {
    expect(deviceTagOf('dev_01JABCDEFGHJKMNPQ')).toMatch(/^[0-9A-Za-z]{1,10}$/);
  });
});
