// The monthly data budget of throughput tests: a small JSON ledger in the agent's data directory, replaced
// atomically. A test reserves its byte cap before it starts and settles to what it really used afterwards,
// so a crash mid-test leaves the reservation counted (the conservative side) instead of losing the bytes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { writeFileAtomic } from '../../platform/atomic-file.ts';
import { localParts } from './plan.ts';

export interface BudgetOptions {
  /** Bytes per calendar month (in `timeZone`). */
  monthlyBytes: number;
  /** Below this many bytes left, tests pause until the next month. */
  pauseBelowBytes: number;
  /** Largest cap of one direction of one test. */
  perTestMaxBytes: number;
  timeZone: string;
}

interface Ledger {
  version: 1;
  month: string;
  usedBytes: number;
  tests: number;
  /** Open reservations: id → bytes. Left over after a crash, they count as used. */
  reserved: Record<string, number>;
}

export interface BudgetState {
  month: string;
  usedBytes: number;
  leftBytes: number;
}

/** Smallest useful cap: below it a test could not get past its warm-up on a slow link. */
export const MIN_TEST_BYTES = 1_000_000;

export class DataBudget {
  readonly file: string;

  constructor(
    dataDir: string,
    readonly options: BudgetOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.file = join(dataDir, 'throughput-budget.json');
  }

  private month(): string {
    const p = localParts(this.now(), this.options.timeZone);
    return `${p.year}-${String(p.month).padStart(2, '0')}`;
  }

  private load(): Ledger {
    const month = this.month();
    const fresh: Ledger = { version: 1, month, usedBytes: 0, tests: 0, reserved: {} };
    if (!existsSync(this.file)) return fresh;
    try {
      const l = JSON.parse(readFileSync(this.file, 'utf8')) as Ledger;
      if (l.version !== 1 || typeof l.usedBytes !== 'number' || l.month !== month) return fresh;
      return { ...l, reserved: l.reserved ?? {} };
    } catch {
      // A damaged ledger restarts the month's count: the budget is a guard, not an account.
      return fresh;
    }
  }

  private save(l: Ledger): void {
    writeFileAtomic(this.file, JSON.stringify(l) + '\n', 0o600);
  }

  state(): BudgetState {
    const l = this.load();
    const used = l.usedBytes + Object.values(l.reserved).reduce((a, b) => a + b, 0);
    return { month: l.month, usedBytes: used, leftBytes: Math.max(0, this.options.monthlyBytes - used) };
  }

  /**
   * The cap for the next direction of a test: the per-test maximum while the budget is comfortable, then a
   * quarter of what is left above the pause floor (tests shrink), and none at all (paused) below the floor
   * or when the cap would be under MIN_TEST_BYTES.
   */
  nextCap(): { capBytes: number } | { paused: string } {
    const s = this.state();
    const spare = s.leftBytes - this.options.pauseBelowBytes;
    const cap = Math.min(this.options.perTestMaxBytes, Math.floor(spare / 4));
    if (spare <= 0 || cap < MIN_TEST_BYTES) {
      return { paused: `data budget for ${s.month}: ${Math.round(s.usedBytes / 1e6)} MB used of ${Math.round(this.options.monthlyBytes / 1e6)} MB; throughput tests pause until next month` };
    }
    return { capBytes: cap };
  }

  reserve(bytes: number): string {
    const l = this.load();
    const id = randomUUID();
    l.reserved[id] = bytes;
    this.save(l);
    return id;
  }

  /** Replaces a reservation with what the test really used. */
  settle(id: string, usedBytes: number): BudgetState {
    const l = this.load();
    delete l.reserved[id];
    l.usedBytes += Math.max(0, Math.round(usedBytes));
    l.tests += 1;
    this.save(l);
    return this.state();
  }
}

/** TCP/IP headers and ACKs are not in socket byte counts; a data plan counts them. About 5 % on 1500-byte MTUs. */
export const HEADER_ALLOWANCE = 1.05;
