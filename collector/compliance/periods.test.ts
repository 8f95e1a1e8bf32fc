import { describe, expect, it } from 'vitest';
import { isoWeekOf, parsePeriod, PeriodError, scheduledPeriods } from './periods.ts';

const TZ = 'Asia/Ho_Chi_Minh';
const vn = (local: string) => Date.parse(`${local}+07:00`);
const NOW = vn('2026-11-24T10:00:00');

describe('compliance periods', () => {
  it('reads a day, an ISO week and a month in local time', () => {
    expect(parsePeriod('2026-11-23', TZ, NOW)).toMatchObject({ kind: 'day', start: vn('2026-11-23T00:00:00'), end: vn('2026-11-24T00:00:00'), complete: true });
    expect(parsePeriod('2026-W48', TZ, NOW)).toMatchObject({ kind: 'week', firstDate: '2026-11-23', lastDate: '2026-11-29', complete: false, judgedUntil: NOW });
    expect(parsePeriod('2026-02', TZ, NOW)).toMatchObject({ kind: 'month', firstDate: '2026-02-01', lastDate: '2026-02-28' });
    expect(parsePeriod('2026-12', TZ, vn('2027-01-05T00:00:00'))).toMatchObject({ lastDate: '2026-12-31', end: vn('2027-01-01T00:00:00') });
    // ISO weeks across the year boundary: 2026-12-31 is in 2026-W53, 2027-01-04 starts 2027-W01.
    expect(isoWeekOf('2026-12-31')).toBe('2026-W53');
    expect(isoWeekOf('2027-01-03')).toBe('2026-W53');
    expect(isoWeekOf('2027-01-04')).toBe('2027-W01');
    expect(parsePeriod('2026-W53', TZ, vn('2027-02-01T00:00:00')).firstDate).toBe('2026-12-28');
  });

  it('makes rolling30 the 30 whole days before today, stamped at today’s midnight', () => {
    expect(parsePeriod('rolling30', TZ, NOW)).toMatchObject({
      kind: 'rolling30',
      label: 'rolling30',
      firstDate: '2026-10-25',
      lastDate: '2026-11-23',
      pointTime: vn('2026-11-24T00:00:00'),
      complete: true,
    });
  });

  it('refuses what is not a period, with what it expects', () => {
    expect(() => parsePeriod('2026-02-30', TZ, NOW)).toThrow(/not a date that exists/);
    expect(() => parsePeriod('2026-W54', TZ, NOW)).toThrow(/no ISO week 54/);
    expect(() => parsePeriod('2025-W53', TZ, NOW)).toThrow(/no ISO week 53/);
    expect(() => parsePeriod('2026-00', TZ, NOW)).toThrow(/month must be 01-12/);
    expect(() => parsePeriod('last month', TZ, NOW)).toThrow(PeriodError);
    expect(() => parsePeriod('2026-12', TZ, NOW)).toThrow(/has not started yet/);
  });

  it('schedules yesterday, its week, its month and rolling30', () => {
    expect(scheduledPeriods(TZ, vn('2026-12-01T00:30:00')).map((p) => p.label)).toEqual(['2026-11-30', '2026-W49', '2026-11', 'rolling30']);
  });
});
