import { describe, expect, it } from 'vitest';
import { OutageResult } from '../../protocol/results.ts';
import { endWithoutRecovery, trackCheck, type OngoingOutage } from './outages.ts';

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);
const minute = 60_000;

describe('outage tracker', () => {
  it('makes one interval from consecutive failed checks, ended by the first good check', () => {
    let ongoing: OngoingOutage | undefined;
    const ended = [];
    for (const [i, state] of (['up', 'link_down', 'link_down', 'link_down', 'up', 'up'] as const).entries()) {
      const r = trackCheck(ongoing, T0 + i * minute, state, 'dev1');
      ongoing = r.ongoing;
      if (r.ended) ended.push(r.ended);
    }
    expect(ongoing).toBeUndefined();
    expect(ended).toHaveLength(1);
    const o = OutageResult.parse(ended[0]);
    expect(o).toMatchObject({ kind: 'link_down', measuredAt: T0 + minute, fields: { end_at: T0 + 4 * minute, duration_s: 180, checks_failed: 3, ended_by: 'recovered' } });
  });

  it('a change of kind ends one interval and starts another at the same check', () => {
    const a = trackCheck(undefined, T0, 'dns_down', 'd');
    const b = trackCheck(a.ongoing, T0 + minute, 'link_down', 'd');
    expect(b.ended).toMatchObject({ kind: 'dns_down', fields: { end_at: T0 + minute, ended_by: 'recovered' } });
    expect(b.ongoing).toMatchObject({ kind: 'link_down', startAt: T0 + minute, checks: 1 });
  });

  it('without recovery the interval ends at the last failed check, with a stable id', () => {
    const a = trackCheck(undefined, T0, 'collector_down', 'd');
    const b = trackCheck(a.ongoing, T0 + minute, 'collector_down', 'd');
    const stopped = endWithoutRecovery(b.ongoing!, 'agent_stopped', 'd');
    const off = endWithoutRecovery(b.ongoing!, 'device_off', 'd');
    expect(stopped).toMatchObject({ fields: { end_at: T0 + minute, duration_s: 60, checks_failed: 2, ended_by: 'agent_stopped' } });
    expect(off.id).toBe(stopped.id);
    expect(OutageResult.parse(off).fields.ended_by).toBe('device_off');
  });
});
