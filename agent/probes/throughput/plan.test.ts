import { describe, expect, it } from 'vitest';
import { FIXED_OFFSET_ZONES } from '../../../protocol/time-zone.ts';
import { localParts } from './plan.ts';

describe('fixed-offset zones', () => {
  it('give the same local time as Intl for every zone in the table, across years and hours', () => {
    for (const [zone] of Object.entries(FIXED_OFFSET_ZONES)) {
      const intl = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
      for (let t = Date.UTC(2024, 0, 1); t < Date.UTC(2027, 0, 1); t += 7 * 86_400_000 + 3_600_000 * 5 + 60_000 * 17) {
        const parts = Object.fromEntries(intl.formatToParts(t).map((p) => [p.type, p.value]));
        const mine = localParts(t, zone);
        expect([mine.year, mine.month, mine.day, mine.hour, mine.minute], `${zone} at ${new Date(t).toISOString()}`).toEqual([
          Number(parts.year), Number(parts.month), Number(parts.day), Number(parts.hour) % 24, Number(parts.minute),
        ]);
        expect(mine.weekday).toBe(['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday!));
      }
    }
  });
});
