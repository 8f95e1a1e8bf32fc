// When scheduled throughput tests run: N times a day at random moments inside school hours, on school
// weekdays, in the school's time zone (Asia/Ho_Chi_Minh by default), drawn afresh each day.
import type { Result } from '../../../protocol/results.ts';
import { FIXED_OFFSET_ZONES } from '../../../protocol/time-zone.ts';
import type { RunSlot } from '../types.ts';
import { type FollowUpOptions, followUps, type PlannedSlot, runSlot } from './follow-up.ts';
import type { FollowUpStore } from './follow-up-store.ts';

export interface PlanOptions {
  testsPerDay: number;
  /** "HH:MM", local time in timeZone. */
  start: string;
  end: string;
  /** 0 = Sunday … 6 = Saturday. */
  weekdays: number[];
  timeZone: string;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();


/** The calendar date, time and weekday of an instant in a time zone (Intl, no dependency). */
export function localParts(epochMs: number, timeZone: string): LocalParts {
  const fixed = FIXED_OFFSET_ZONES[timeZone];
  if (fixed !== undefined) {
    const d = new Date(epochMs + fixed * 60_000);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), weekday: d.getUTCDay() };
  }
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(epochMs)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    weekday: WEEKDAYS[parts.weekday ?? 'Mon'] ?? 1,
  };
}

/** The instant of a local date and time in a time zone (two correction rounds cover any UTC offset change). */
export function zonedTime(year: number, month: number, day: number, hhmm: string, timeZone: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const wanted = Date.UTC(year, month - 1, day, h, m);
  let t = wanted;
  for (let i = 0; i < 2; i++) {
    const p = localParts(t, timeZone);
    const shown = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    t += wanted - shown;
  }
  return t;
}


/** The day's test times: testsPerDay uniform random instants in [start, end), sorted; none on other weekdays. */
export function drawDay(epochMs: number, o: PlanOptions, random: () => number = Math.random): number[] {
  const p = localParts(epochMs, o.timeZone);
  if (!o.weekdays.includes(p.weekday)) return [];
  const from = zonedTime(p.year, p.month, p.day, o.start, o.timeZone);
  const to = zonedTime(p.year, p.month, p.day, o.end, o.timeZone);
  if (to <= from) return [];
  return Array.from({ length: o.testsPerDay }, () => from + Math.floor(random() * (to - from))).sort((a, b) => a - b);
}

/**
 * Asked every minute; says yes once per drawn slot. An agent started mid-day skips the slots already past.
 * After a run (after()), it adds the follow-ups of follow-up.ts: a retry of a test postponed on a busy line, a
 * confirmation of a download under the floor. With a store (follow-up-store.ts), pending follow-ups survive a
 * restart; without one they live in memory.
 */
export class ThroughputPlan {
  private day = '';
  private dayEnd = 0;
  private slots: PlannedSlot[] = [];
  private current: PlannedSlot | undefined;
  /** Follow-ups a previous run saved, joined to the first day drawn. */
  private restored: PlannedSlot[];

  constructor(
    private readonly options: PlanOptions,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
    private readonly followUp?: FollowUpOptions,
    private readonly store?: Pick<FollowUpStore, 'load' | 'save'>,
  ) {
    this.restored = store?.load(now()) ?? [];
  }

  due(): boolean {
    const t = this.now();
    const p = localParts(t, this.options.timeZone);
    const key = `${p.year}-${p.month}-${p.day}`;
    if (key !== this.day) {
      this.day = key;
      this.dayEnd = zonedTime(p.year, p.month, p.day, this.options.end, this.options.timeZone);
      // Slots more than two minutes past are dropped (agent started late, or the machine slept); so are
      // yesterday's follow-ups.
      this.slots = drawDay(t, this.options, this.random)
        .filter((s) => s > t - 120_000)
        .map((at) => ({ at, kind: 'scheduled' as const, postponed: 0 }));
      if (this.restored.length) this.slots = [...this.slots, ...this.restored].sort((a, b) => a.at - b.at);
      this.restored = [];
    }
    if (this.slots.length > 0 && this.slots[0]!.at <= t) {
      this.current = this.slots.shift();
      // Taken: a restart during its run does not run it again.
      if (this.current!.kind !== 'scheduled') this.save();
      return true;
    }
    return false;
  }

  runContext(): RunSlot | undefined {
    return this.current && this.followUp ? runSlot(this.current, this.followUp, this.dayEnd) : undefined;
  }

  after(results: Result[]): void {
    if (!this.current || !this.followUp) return;
    const more = followUps(results, this.current, this.followUp, this.now(), this.dayEnd, this.random);
    this.current = undefined;
    if (more.length) {
      this.slots = [...this.slots, ...more].sort((a, b) => a.at - b.at);
      this.save();
    }
  }

  private save(): void {
    try {
      this.store?.save(this.slots);
    } catch {
      // A full or read-only disk: the follow-ups still run from memory; only a restart would forget them.
    }
  }

  /** The remaining slots of today (for logs and tests). */
  pending(): number[] {
    return this.slots.map((s) => s.at);
  }

  /** The remaining slots with their kind (retry, confirmation). */
  pendingSlots(): PlannedSlot[] {
    return this.slots.map((s) => ({ ...s }));
  }
}
