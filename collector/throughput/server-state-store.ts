// Per-test server state (server-state.ts), kept in the throughput service's shared store (SQLite file or PostgreSQL) so that the
// process receiving the agent's result finds what the process that served the test saw. Rows are kept 14
// days: an agent offline for days still uploads its results with their original times.
import { openThroughputStore } from '../database.ts';
import type { Store } from '../store/store.ts';
import type { TestServerState } from './server-state.ts';
import type { TestKind } from './store.ts';

const KEEP_MS = 14 * 86_400_000;
/** The agent stamps a direction just before it connects; its clock is corrected to the collector's, roughly. */
export const MATCH_WINDOW_MS = 60_000;

export class ServerStateStore {
  private inserts = 0;

  constructor(private readonly db: Store) {}

  static async open(dataDir: string): Promise<ServerStateStore> {
    return new ServerStateStore(await openThroughputStore(dataDir));
  }

  async record(device: string, kind: TestKind, startedAt: number, endedAt: number, state: TestServerState): Promise<void> {
    if (!this.db.isOpen) return;
    await this.db.run('INSERT INTO test_server_state (device, direction, started_at, ended_at, state) VALUES (?, ?, ?, ?, ?)', device, kind.endsWith('download') ? 'download' : 'upload', startedAt, endedAt, JSON.stringify(state));
    if (++this.inserts % 500 === 1) await this.db.run('DELETE FROM test_server_state WHERE ended_at < ?', endedAt - KEEP_MS);
  }

  /** The state of the device's test in that direction that started nearest to `measuredAt`. */
  async lookup(device: string, direction: 'download' | 'upload', measuredAt: number): Promise<TestServerState | undefined> {
    if (!this.db.isOpen) return undefined;
    const row = await this.db.get<{ state: string }>(
      'SELECT state FROM test_server_state WHERE device = ? AND direction = ? AND started_at BETWEEN ? AND ? ORDER BY abs(started_at - ?) LIMIT 1',
      device, direction, measuredAt - MATCH_WINDOW_MS, measuredAt + MATCH_WINDOW_MS, measuredAt,
    );
    return row ? (JSON.parse(row.state) as TestServerState) : undefined;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
