// What every store backend and transaction offers: the queries features run (store.ts, leases.ts).
import type { SqlArgs } from './placeholders.ts';

export interface SqlRunner {
  all<T = Record<string, unknown>>(source: string, ...args: SqlArgs): Promise<T[]>;
  get<T = Record<string, unknown>>(source: string, ...args: SqlArgs): Promise<T | undefined>;
  /** INSERT/UPDATE/DELETE; `changes` is the number of rows written. Use `RETURNING` with get() for new ids. */
  run(source: string, ...args: SqlArgs): Promise<{ changes: number }>;
  /**
   * Tells the other collector processes sharing the database that something on `channel` changed (in a
   * transaction: when it commits). PostgreSQL: NOTIFY. SQLite: nothing; every process polls.
   */
  notify(channel: string): Promise<void>;
}
