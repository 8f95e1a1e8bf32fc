import { describe, expect, it } from 'vitest';
import { parseCalendar } from './calendar.ts';
import { calendarSchoolTime, schoolMinutesBetween } from './school-time.ts';
import { formatDayMonthYear, formatLocalMinute } from './zone.ts';

const KOLKATA = `
timeZone: Asia/Kolkata
schoolYears: [{ name: "y", start: 2026-09-01, end: 2027-05-31 }]
hours:
  tue: ["09:00-10:00"]
`;

describe('school time in the calendar zone', () => {
  const school = calendarSchoolTime((code) => ({ code, name: code, groups: [], createdAt: 0, updatedAt: 0 }), parseCalendar(KOLKATA));

  it('answers in the calendar zone, not in UTC+7', () => {
    expect(school.timeZone).toBe('Asia/Kolkata');
    // Tuesday 24 Nov 2026 09:30 in Kolkata is 04:00 UTC (11:00 in Hà Nội, outside these hours there).
    expect(school.isSchoolTime('S', Date.UTC(2026, 10, 24, 4, 0))).toBe(true);
    expect(school.isSchoolTime('S', Date.UTC(2026, 10, 24, 2, 0))).toBe(false);
    expect(schoolMinutesBetween(school, 'S', Date.UTC(2026, 10, 24, 0), Date.UTC(2026, 10, 25, 0))).toBe(60);
  });

  it('formats local minutes with their offset', () => {
    const at = Date.UTC(2026, 10, 24, 4, 0);
    expect(formatLocalMinute(at, 'Asia/Ho_Chi_Minh')).toBe('2026-11-24 11:00 (UTC+7)');
    expect(formatLocalMinute(at, 'Asia/Kolkata')).toBe('2026-11-24 09:30 (UTC+5:30)');
    expect(formatLocalMinute(at, 'UTC')).toBe('2026-11-24 04:00 (UTC)');
    expect(formatDayMonthYear(Date.UTC(2026, 10, 24, 20), 'Asia/Ho_Chi_Minh')).toBe('25/11/2026');
  });
});
