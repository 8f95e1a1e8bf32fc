// Issue 14, case 1: line-protocol injection. A target mixing backslashes, `=` and `"`, with a detail holding a
// line break followed by a line of line protocol, made InfluxDB store that extra line (points under another
// site, a made-up device, any measurement, and a field of another type that then refused every honest result
// of the shard). Closed by the tag grammar and string-field safety (docs/data-model.md#tag-grammar).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type HostileStack, hostileStack, NOW, tcpResult } from './support.ts';

const influxUrl = inject('influxUrl');
let s: HostileStack;
beforeAll(async () => {
  s = await hostileStack(influxUrl, 'hostile_lp');
});
afterAll(() => s?.tc.cleanup());

const INJECTED = `latency,site=FOREIGN-9,device=made-up,target=x loss_pct=7i,rtt_median_ms="slow" ${NOW - 3_600_000}`;

describe('line-protocol injection by an enrolled device', () => {
  it('stores 0 foreign points and keeps every field its documented type', async () => {
    const attacks = [
      tcpResult({ target: 'a\\ b\\=c"d', detail: `x\n${INJECTED}\n` }),
      tcpResult({ target: 'a\\', detail: `\n${INJECTED}` }),
      tcpResult({ target: 'x,site=FOREIGN-9 loss_pct=1i', detail: 'y' }),
      tcpResult({ target: 'ok.example.vn:443', detail: `x"\\\n${INJECTED}\n"` }),
      tcpResult({ target: 'ok.example.vn:443', measuredAt: NOW - 120_000, detail: `\\"\r\n${INJECTED}\\` }),
    ];
    const { status, body } = await s.post(attacks);
    expect(status).toBe(200);
    // Targets outside the grammar are refused; the honest targets are stored with their detail on one line.
    expect(body.results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'stored', 'stored']);
    expect(body.results[0]!.reason).toMatch(/target must be a host, host:port, URL or name/);

    expect((await s.query('SHOW MEASUREMENTS')).map((r) => r.name)).toEqual(['latency']);
    expect((await s.query('SHOW TAG VALUES FROM latency WITH KEY = "site"')).map((r) => r.value)).toEqual(['LC-001']);
    expect((await s.query('SHOW TAG VALUES FROM latency WITH KEY = "device"')).map((r) => r.value)).toEqual([s.tc.deviceId]);
    const types = Object.fromEntries((await s.query('SHOW FIELD KEYS FROM latency')).map((r) => [r.fieldKey, r.fieldType]));
    expect(types).toMatchObject({ loss_pct: 'float', rtt_median_ms: 'float', detail: 'string' });
    const rows = await s.query('SELECT detail FROM latency');
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(String(row.detail)).toContain(INJECTED); // kept as text, on one line
    for (const row of rows) expect(String(row.detail)).not.toMatch(/[\n\r]/);

    // And an honest result of the same shard is still stored.
    const honest = await s.post([tcpResult()]);
    expect(honest.body.results[0]!.status).toBe('stored');
  });
});
