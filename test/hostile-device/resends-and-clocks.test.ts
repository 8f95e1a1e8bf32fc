// Issue 14, cases 10 and 11. (10) A result resent after its site was edited landed in a second series
// (commune/operator/link_type were read at arrival); now a result gets the site's tags in effect at its
// time, so the same result id never makes a second point. (11) A device whose clock runs fast lost
// everything it measured (results > 10 min ahead were rejected, then deleted by the agent); now they are
// stored at the time `sentAt` implies, flagged with `clock_shift_ms`, and a resend lands on the same point.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type HostileStack, hostileStack, NOW, tcpResult } from './support.ts';

const influxUrl = inject('influxUrl');
let now = NOW;
let s: HostileStack;
beforeAll(async () => {
  s = await hostileStack(influxUrl, 'hostile_resend', { clock: () => now });
});
afterAll(() => s?.tc.cleanup());

describe('a resend after a site edit (case 10)', () => {
  it('lands on the series the result was first stored in; results measured after the edit carry the new tags', async () => {
    const first = tcpResult({ measuredAt: NOW - 60_000 });
    expect((await s.post([first])).body.results[0]!.status).toBe('stored');
    now = NOW + 1000;
    s.tc.registry.updateSite('LC-001', { commune: 'Xã Mới', operator: 'vnpt' });
    now = NOW + 60_000;
    // The agent never saw the ack and sends it again; an edit cannot make it a second point.
    expect((await s.post([first])).body.results[0]!.status).toBe('stored');
    const points = await s.query(`SELECT result_id, commune, operator FROM latency WHERE result_id = '${first.id}'`);
    expect(points.map((p) => [p.commune, p.operator])).toEqual([['Bản Xèo', 'viettel']]);

    now = NOW + 30 * 60_000;
    const later = tcpResult({ measuredAt: now - 1000 });
    expect((await s.post([later])).body.results[0]!.status).toBe('stored');
    const newer = await s.query(`SELECT result_id, commune, operator FROM latency WHERE result_id = '${later.id}'`);
    expect(newer.map((p) => [p.commune, p.operator])).toEqual([['Xã Mới', 'vnpt']]);
  });
});

describe('a device whose clock runs two hours fast (case 11)', () => {
  it('stores its results at the corrected time, flagged, and a resend with another sentAt lands on the same point', async () => {
    now = NOW + 3_600_000;
    const ahead = 2 * 3_600_000;
    const result = tcpResult({ target: 'clock.example.vn:443', measuredAt: now + ahead - 30_000 });
    const { body } = await s.post([result], { sentAt: now + ahead });
    expect(body.results[0]!.status).toBe('stored');
    now += 5 * 60_000;
    expect((await s.post([result], { sentAt: now + ahead + 1234 })).body.results[0]!.status).toBe('stored');
    const points = await s.query(`SELECT result_id, clock_shift_ms FROM latency WHERE result_id = '${result.id}'`);
    expect(points).toHaveLength(1);
    expect(points[0]!.time).toBe(NOW + 3_600_000 - 30_000);
    expect(points[0]!.clock_shift_ms).toBe(-ahead);

    // Without sentAt (an old agent), the collector's own time: kept, flagged, never rejected.
    const blind = tcpResult({ target: 'clock.example.vn:443', measuredAt: now + ahead });
    expect((await s.post([blind])).body.results[0]!.status).toBe('stored');
    const stored = await s.query(`SELECT clock_shift_ms FROM latency WHERE result_id = '${blind.id}'`);
    expect(stored.map((p) => [p.time, p.clock_shift_ms])).toEqual([[now, -ahead]]);
  });
});
