import { describe, expect, it } from 'vitest';
import { AgentConfig } from './agent-config.ts';
import { LOCAL_ONLY_OPTIONS, PROBE_OPTIONS } from './probe-options/index.ts';
import { checkRemoteConfig, withLocalOnlyOptions } from './remote-config.ts';

describe('remote configuration check', () => {
  it('refuses every option that names a file the agent runs or trusts, with the option in the reason', () => {
    const icmp = checkRemoteConfig({ probes: { icmp: { options: { binary: '/tmp/evil' } } } });
    expect(icmp).toEqual({ ok: false, reason: expect.stringMatching(/^probes\.icmp\.options\.binary cannot be set remotely/) });
    const http = checkRemoteConfig({ probes: { http: { options: { caFile: '/tmp/evil-ca.pem' } } } });
    expect(http).toEqual({ ok: false, reason: expect.stringMatching(/^probes\.http\.options\.caFile cannot be set remotely/) });
    expect(checkRemoteConfig({ probes: { icmp: { options: { count: 3 } } } }).ok).toBe(true);
  });

  it('lists every option whose name says program, file, path or certificate as local only', () => {
    const suspicious = (n: string) => /binary|program|command|exe|file|path|folder|cert|key/i.test(n) || /^dir(ectory)?$|Dir(ectory)?$|^ca[A-Z]/.test(n);
    for (const [probe, schema] of Object.entries(PROBE_OPTIONS)) {
      const shape = (schema.unwrap() as unknown as { shape: Record<string, unknown> }).shape;
      for (const option of Object.keys(shape).filter(suspicious)) {
        expect(LOCAL_ONLY_OPTIONS[probe as keyof typeof PROBE_OPTIONS] ?? [], `${probe}.${option}`).toContain(option);
      }
    }
  });

  it('keeps the local file\'s local-only options under a pushed configuration', () => {
    const local = AgentConfig.parse({ collectorUrl: 'https://c.example.vn', probes: { icmp: { options: { binary: 'C:\\ping\\ping.exe' } } } });
    const pushed = checkRemoteConfig({ probes: { icmp: { options: { count: 2 } } } });
    if (!pushed.ok) throw new Error(pushed.reason);
    const merged = withLocalOnlyOptions(pushed.config, local);
    expect(merged.probes.icmp!.options).toMatchObject({ count: 2, binary: 'C:\\ping\\ping.exe' });
    expect(merged.collectorUrl).toBe('https://c.example.vn');
    expect(merged.probes.http!.options.caFile).toBeUndefined();
  });
});
