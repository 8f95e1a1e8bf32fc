import { describe, expect, it } from 'vitest';
import { Result } from '../../protocol/results.ts';
import { type DeviceIdentity, normalizeTagValue, resultToPoint, toLine } from './points.ts';

const identity: DeviceIdentity = {
  deviceId: 'dev_0123456789abcdef0123456789abcdef',
  site: { code: 'LC-001', commune: 'Bản Xèo', operator: 'viettel', linkType: '4g' },
};
const measuredAt = Date.UTC(2025, 8, 1, 8, 30, 0, 123);

const tcp = Result.parse({
  id: 'r-0001-abcd',
  probe: 'tcp',
  target: 'collector.example.vn:443',
  measuredAt,
  code: 'partial',
  detail: 'one "lost" attempt',
  fields: { sent: 4, received: 3, loss_pct: 25, rtt_median_ms: 41.5, jitter_ms: 2 },
});

describe('resultToPoint', () => {
  it('builds the exact line: tags from the identity, every number a float, ms timestamp', () => {
    expect(toLine(resultToPoint(tcp, identity))).toBe(
      'latency,code=partial,commune=Bản\\ Xèo,device=dev_0123456789abcdef0123456789abcdef,link_type=4g,method=tcp_connect,' +
        'operator=viettel,site=LC-001,target=collector.example.vn:443 ' +
        'detail="one \\"lost\\" attempt",jitter_ms=2,loss_pct=25,received=3,result_id="r-0001-abcd",rtt_median_ms=41.5,sent=4 ' +
        String(measuredAt),
    );
  });

  it('uses the STORAGE measurement and method, string fields quoted, optional site tags left out', () => {
    const facts = Result.parse({
      id: 'r-0002-abcd',
      probe: 'device_facts',
      target: 'self',
      measuredAt,
      code: 'ok',
      fields: {
        agent_version: '0.1.0', node_version: 'v20', hostname: 'PC 01', os: 'Windows', os_version: '10', arch: 'x64',
        cpu: 'i3', cpu_cores: 4, mem_total_mb: 4096, mem_free_mb: 1024.5, system_uptime_s: 60,
      },
    });
    const line = toLine(resultToPoint(facts, { deviceId: 'dev_x', site: { code: 'S1' } }));
    expect(line).toMatch(/^device_facts,code=ok,device=dev_x,method=systeminformation,site=S1,target=self /);
    expect(line).toContain('hostname="PC 01"');
    expect(line).toContain('cpu_cores=4,');
    expect(line).not.toMatch(/\d+i[, ]/); // no integer fields, ever
  });

  it('cannot be given a site by the body: the strict schema rejects it before conversion', () => {
    const smuggled = { ...tcp, site: 'OTHER-SITE', fields: { ...tcp.fields, site: 'OTHER-SITE' } };
    const parsed = Result.safeParse(smuggled);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.code)).toEqual(['unrecognized_keys', 'unrecognized_keys']);
  });

  it('refuses a target outside the tag grammar, and keeps line breaks out of string fields', () => {
    const hostile = { ...tcp, target: ` evil\ntarget,with=stuff\\${'x'.repeat(300)}` };
    expect(Result.safeParse(hostile).success).toBe(false);
    expect(() => resultToPoint(hostile, identity)).toThrow(/tag grammar/);
    const line = toLine(resultToPoint({ ...tcp, detail: 'a"b\\\nlatency,site=EVIL sent=1 1\r\u2028' }, identity));
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('detail="a\\"b\\\\ latency,site=EVIL sent=1 1  "');
  });
});

describe('normalizeTagValue', () => {
  it('strips control characters, trims, caps at 200 and turns backslashes into slashes', () => {
    expect(normalizeTagValue(' a\u0000b\tc ')).toBe('abc');
    expect(normalizeTagValue('x'.repeat(250))).toHaveLength(200);
    expect(normalizeTagValue('path\\\\')).toBe('path//');
    expect(normalizeTagValue(' \n ')).toBeUndefined();
    expect(normalizeTagValue(undefined)).toBeUndefined();
  });

  it('replaces lone surrogates, including one left by the length cap, and keeps whole pairs', () => {
    expect(normalizeTagValue('a\ud800b\udc00c')).toBe('a\ufffdb\ufffdc');
    expect(normalizeTagValue('ok 😀')).toBe('ok 😀');
    const cut = normalizeTagValue(`${'x'.repeat(199)}😀`)!;
    expect(cut).toBe(`${'x'.repeat(199)}\ufffd`);
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
  });
});
