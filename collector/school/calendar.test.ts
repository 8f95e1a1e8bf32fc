import { describe, expect, it } from 'vitest';
import { CalendarError, getDefaultCalendar, isSchoolTime, parseCalendar, schoolIntervals } from './calendar.ts';

const at = (iso: string) => Date.parse(iso);
const VN = (local: string) => at(`${local}+07:00`);

const SMALL = `
timeZone: Asia/Ho_Chi_Minh
schoolYears: [{ name: "y", start: 2026-09-05, end: 2027-05-31 }]
hours:
  mon: ["07:00-11:30", "13:30-17:00"]
  tue: ["07:00-17:00"]
closures:
  - { from: 2026-11-24, name: "Test holiday" }
schoolDays: [2026-11-28]
makeUpHours: ["08:00-10:00"]
overrides:
  - groups: ["saturday-school"]
    hours: { sat: ["07:00-11:00"] }
  - sites: ["LC-9"]
    closures: [{ from: 2026-11-23, to: 2026-11-23, name: "Flood", kind: break }]
`;

describe('school calendar', () => {
  const cal = parseCalendar(SMALL);

  it('knows school hours per weekday, in local time, with the end excluded', () => {
    expect(cal.isSchoolTime(VN('2026-11-23T07:00:00'))).toBe(true); // Monday
    expect(cal.isSchoolTime(VN('2026-11-23T06:59:59'))).toBe(false);
    expect(cal.isSchoolTime(VN('2026-11-23T12:00:00'))).toBe(false); // lunch
    expect(cal.isSchoolTime(VN('2026-11-23T16:59:59'))).toBe(true);
    expect(cal.isSchoolTime(VN('2026-11-23T17:00:00'))).toBe(false);
    expect(cal.isSchoolTime(VN('2026-11-25T09:00:00'))).toBe(false); // Wednesday has no hours here
  });

  it('closes on holidays, outside the school year, and per-site closures; opens make-up days and per-group hours', () => {
    expect(cal.day('2026-11-24').kind).toBe('holiday');
    expect(cal.isSchoolTime(VN('2026-11-24T09:00:00'))).toBe(false);
    expect(cal.day('2026-08-31').kind).toBe('out_of_year');
    expect(cal.day('2026-11-23', { code: 'LC-9' })).toMatchObject({ kind: 'break', name: 'Flood' });
    expect(cal.day('2026-11-23', { code: 'LC-1' }).kind).toBe('school');
    expect(cal.isSchoolTime(VN('2026-11-28T09:00:00'))).toBe(true); // make-up Saturday
    expect(cal.isSchoolTime(VN('2026-11-28T10:00:00'))).toBe(false);
    expect(cal.isSchoolTime(VN('2026-12-05T10:00:00'), { code: 'x', groups: ['saturday-school'] })).toBe(true);
    expect(cal.isSchoolTime(VN('2026-12-05T10:00:00'), { code: 'x' })).toBe(false);
    expect(cal.variantKey({ code: 'x', groups: ['saturday-school'] })).not.toBe(cal.variantKey({ code: 'y' }));
  });

  it('lists the school intervals of a period, clipped to it', () => {
    const list = cal.schoolIntervals(VN('2026-11-23T08:00:00'), VN('2026-11-30T00:00:00'));
    expect(list).toEqual([
      { start: VN('2026-11-23T08:00:00'), end: VN('2026-11-23T11:30:00') },
      { start: VN('2026-11-23T13:30:00'), end: VN('2026-11-23T17:00:00') },
      { start: VN('2026-11-28T08:00:00'), end: VN('2026-11-28T10:00:00') },
    ]);
    expect(cal.schoolMs(VN('2026-11-23T00:00:00'), VN('2026-11-24T00:00:00'))).toBe(8 * 3_600_000);
    expect(cal.schoolIntervals(10, 10)).toEqual([]);
  });

  it('ships a default Vietnamese calendar: weekdays 07:00-17:00, Tết and public holidays closed', () => {
    const def = getDefaultCalendar();
    expect(def.timeZone).toBe('Asia/Ho_Chi_Minh');
    expect(isSchoolTime(VN('2026-11-24T10:00:00'))).toBe(true);
    expect(isSchoolTime(VN('2026-11-28T10:00:00'))).toBe(false); // Saturday
    expect(def.day('2027-02-08').kind).toBe('break'); // Tết week
    expect(def.day('2027-01-01').kind).toBe('holiday');
    expect(def.day('2027-04-30').kind).toBe('holiday');
    expect(def.day('2027-07-15').kind).toBe('out_of_year');
    // November 2026: 21 weekdays, no holiday → 210 school hours.
    const nov = schoolIntervals(VN('2026-11-01T00:00:00'), VN('2026-12-01T00:00:00'));
    expect(nov).toHaveLength(21);
    expect(nov.reduce((s, i) => s + i.end - i.start, 0)).toBe(210 * 3_600_000);
  });

  it('refuses a bad file with the path of every problem', () => {
    expect(() => parseCalendar('schoolYears: []\nhours: { mon: ["17:00-07:00"], fun: [] }\ntimeZone: Mars/Base', 'cal.yaml')).toThrow(CalendarError);
    try {
      parseCalendar('schoolYears: []\nhours: { mon: ["17:00-07:00"] }\ntimeZone: Mars/Base\nclosures: [{ from: 2026-02-30, name: x }]', 'cal.yaml');
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toContain('cal.yaml');
      expect(msg).toContain('timeZone');
      expect(msg).toContain('schoolYears');
      expect(msg).toContain('hours.mon.0');
      expect(msg).toContain('closures.0.from');
    }
    expect(() => parseCalendar('hours: [', 'cal.yaml')).toThrow(/not valid YAML/);
  });

  it('bounds the period it expands', () => {
    expect(() => cal.schoolIntervals(0, at('2040-01-01T00:00:00Z'))).toThrow(/too long/);
  });
});
