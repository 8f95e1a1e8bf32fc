// Local dates in a time zone, without a date library: Intl gives the wall-clock parts of an instant,
// and a local midnight is found by correcting a UTC guess with the zone's offset (twice, for DST zones).
// Dates are 'YYYY-MM-DD' strings so they compare as strings and read the same in YAML, URLs and reports.

/** The zone of the shipped school calendar, and of anything that has no calendar at hand (enrollment sheets). */
export const DEFAULT_TIME_ZONE = 'Asia/Ho_Chi_Minh';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export interface LocalParts {
  date: string;
  year: number;
  month: number;
  day: number;
  /** 0 = Sunday … 6 = Saturday, like Date.getUTCDay(). */
  weekday: number;
  /** Minutes since local midnight. */
  minuteOfDay: number;
}

/** The zone's offset (local − UTC) in ms at one instant. */
export function offsetMs(at: number, timeZone: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(at))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - Math.floor(at / 1000) * 1000;
}

export function localParts(at: number, timeZone: string): LocalParts {
  const shifted = new Date(at + offsetMs(at, timeZone));
  const year = shifted.getUTCFullYear();
  const month = shifted.getUTCMonth() + 1;
  const day = shifted.getUTCDate();
  return {
    date: formatDate(year, month, day),
    year,
    month,
    day,
    weekday: shifted.getUTCDay(),
    minuteOfDay: shifted.getUTCHours() * 60 + shifted.getUTCMinutes(),
  };
}

/** 'YYYY-MM-DD HH:MM (UTC+7)': a local wall-clock minute with its offset, as people on call read it. */
export function formatLocalMinute(at: number, timeZone: string): string {
  const p = localParts(at, timeZone);
  const hm = `${String(Math.floor(p.minuteOfDay / 60)).padStart(2, '0')}:${String(p.minuteOfDay % 60).padStart(2, '0')}`;
  return `${p.date} ${hm} (${offsetLabel(offsetMs(at, timeZone))})`;
}

/** 'UTC+7', 'UTC+5:30', 'UTC-3', 'UTC'. */
function offsetLabel(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes === 0) return 'UTC';
  const abs = Math.abs(minutes);
  return `UTC${minutes < 0 ? '-' : '+'}${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : ''}`;
}

/** 'dd/mm/yyyy' of the local date. */
export function formatDayMonthYear(at: number, timeZone: string): string {
  const p = localParts(at, timeZone);
  return `${String(p.day).padStart(2, '0')}/${String(p.month).padStart(2, '0')}/${String(p.year).padStart(4, '0')}`;
}

export function formatDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

export const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses 'YYYY-MM-DD' and rejects dates that do not exist (2026-02-30). */
export function parseDate(date: string): { year: number; month: number; day: number } | undefined {
  const m = DATE_RE.exec(date);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined;
  return { year, month, day };
}

/** Epoch ms of a local wall-clock time on a local date. */
export function localTime(date: string, minuteOfDay: number, timeZone: string): number {
  const d = parseDate(date);
  if (!d) throw new Error(`not a date: ${date}`);
  const wall = Date.UTC(d.year, d.month - 1, d.day) + minuteOfDay * 60_000;
  let guess = wall - offsetMs(wall, timeZone);
  guess = wall - offsetMs(guess, timeZone);
  return guess;
}

/** The calendar date `days` after `date` (negative for before). */
export function addDays(date: string, days: number): string {
  const d = parseDate(date);
  if (!d) throw new Error(`not a date: ${date}`);
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + days));
  return formatDate(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(date: string): number {
  const d = parseDate(date);
  if (!d) throw new Error(`not a date: ${date}`);
  return new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay();
}
