// Per-test server state (server-state.ts), kept in the throughput service's shared SQLite file so that the
// process receiving the agent's result finds what the process that served the test saw. Rows are kept 14
// days: an agent offline for days still uploads its results with their original times.
import path from 'node:path';
import { SqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/store.ts';
import { THROUGHPUT_MIGRATIONS } from './migrations.ts';
import type { TestServerState } from './server-state.ts';
import type { TestKind } from './store.ts';

const KEEP_MS = 14 * 86_400_000;
/** The agent stamps a direction just before it connects; its clock is corrected to the collector's, roughly. */
export const MATCH_WINDOW_MS = 60_000;

export class ServerStateStore {
  private readonly db: Store;
  private inserts = 0;

  constructor(file: string) {
    this.db = SqliteStore.open(file, { migrations: THROUGHPUT_MIGRATIONS, name: 'throughput', busyTimeoutMs: 2000 });
  }

  static open(dataDir: string): ServerStateStore {
    return new ServerStateStore(path.join(dataDir, 'throughput.sqlite'));
  }

  record(device: string, kind: TestKind, startedAt: number, endedAt: number, state: TestServerState): void {
    if (!this.db.isOpen) return;
    this.db.sql('INSERT INTO test_server_state (device, direction, started_at, ended_at, state) VALUES (?, ?, ?, ?, ?)').run(device, kind.endsWith('download') ? 'download' : 'upload', startedAt, endedAt, JSON.stringify(state));
    if (++this.inserts % 500 === 1) this.db.sql('DELETE FROM test_server_state WHERE ended_at < ?').run(endedAt - KEEP_MS);
  }

  /** The state of the device's test in that direction that started nearest to `measuredAt`. */
  lookup(device: string, direction: 'download' | 'upload', measuredAt: number): TestServerState | undefined {
    if (!this.db.isOpen) return undefined;
    const row = this.db.sql(
      'SELECT state FROM test_server_state WHERE device = ? AND direction = ? AND started_at BETWEEN ? AND ? ORDER BY abs(started_at - ?) LIMIT 1',
    ).get(device, direction, measuredAt - MATCH_WINDOW_MS, measuredAt + MATCH_WINDOW_MS, measuredAt) as { state: string } | undefined;
    return row ? (JSON.parse(row.state) as TestServerState) : undefined;
  }

  close(): void {
    this.db.close();
  }
}
