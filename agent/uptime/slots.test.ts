import { describe, expect, it } from 'vitest';
import { UptimeResult } from '../../protocol/results.ts';
import { addCheck, addSpan, SLOT_MS, slotResult, slotStartOf } from './slots.ts';

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0); // 10:00 in Hà Nội, a slot boundary

describe('uptime slots', () => {
  it('aligns slots to quarter-hours', () => {
    expect(slotStartOf(T0 + 14 * 60_000 + 59_999)).toBe(T0);
    expect(slotStartOf(T0 + SLOT_MS)).toBe(T0 + SLOT_MS);
  });

  it('counts checks by state and observed/up time between checks, and closes a slot at the first check of the next', () => {
    let r = addCheck(undefined, T0 + 10_000, 'up');
    r = addCheck(r.open, T0 + 70_000, 'link_down', { from: T0 + 10_000, to: T0 + 70_000, up: true });
    r = addCheck(r.open, T0 + 130_000, 'collector_down', { from: T0 + 70_000, to: T0 + 130_000, up: false });
    expect(r.closed).toEqual([]);
    expect(r.open).toMatchObject({ start: T0, checks: 3, checks_up: 1, checks_link_down: 1, checks_collector_down: 1, observed_ms: 120_000, up_ms: 60_000 });
    // A span across the boundary is split between the two slots.
    const atBoundary = addCheck(r.open, T0 + SLOT_MS + 30_000, 'dns_down', { from: T0 + SLOT_MS - 30_000, to: T0 + SLOT_MS + 30_000, up: true });
    expect(atBoundary.closed).toHaveLength(1);
    expect(atBoundary.closed[0]).toMatchObject({ start: T0, observed_ms: 150_000, up_ms: 90_000 });
    expect(atBoundary.open).toMatchObject({ start: T0 + SLOT_MS, checks: 1, checks_dns_down: 1, observed_ms: 30_000, up_ms: 30_000 });
  });

  it('closes a slot restored from an earlier quarter-hour', () => {
    const old = addCheck(undefined, T0, 'up').open;
    const r = addCheck(old, T0 + 3 * SLOT_MS, 'up');
    expect(r.closed.map((s) => s.start)).toEqual([T0]);
    expect(r.open.start).toBe(T0 + 3 * SLOT_MS);
  });

  it('addSpan only adds time', () => {
    const r = addSpan(undefined, { from: T0, to: T0 + 5_000, up: false });
    expect(r.open).toMatchObject({ checks: 0, observed_ms: 5_000, up_ms: 0 });
  });

  it('makes one valid uptime result per slot with an id fixed by the slot start', () => {
    const slot = addCheck(undefined, T0 + 1000, 'up', { from: T0, to: T0 + 1000, up: true }).open;
    const a = slotResult(slot, 'dev1');
    const b = slotResult({ ...slot, checks: 9 }, 'dev1');
    expect(UptimeResult.parse(a)).toBeTruthy();
    expect(a.id).toBe(b.id);
    expect(a.measuredAt).toBe(T0);
    expect(a.fields).toMatchObject({ checks: 1, checks_up: 1, observed_s: 1, up_s: 1 });
    expect(slotResult(addCheck(undefined, T0 + SLOT_MS, 'up').open, 'dev1').id).not.toBe(a.id);
  });
});
