// Per-test server state (server-state.ts), kept in the throughput service's shared SQLite file so that the
// process receiving the agent's result finds what the process that served the test saw. Rows are kept 14
// days: an agent offline for days still uploads its results with their original times.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { TestServerState } from './server-state.ts';
import type { TestKind } from './store.ts';

const KEEP_MS = 14 * 86_400_000;
/** The agent stamps a direction just before it connects; its clock is corrected to the collector's, roughly. */
export const MATCH_WINDOW_MS = 60_000;

export class ServerStateStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly purge: Database.Statement;
  private readonly find: Database.Statement;
  private inserts = 0;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 2000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS test_server_state (
        device TEXT NOT NULL, direction TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL, state TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS test_server_state_device ON test_server_state (device, direction, started_at);`);
    this.insert = this.db.prepare('INSERT INTO test_server_state (device, direction, started_at, ended_at, state) VALUES (?, ?, ?, ?, ?)');
    this.purge = this.db.prepare('DELETE FROM test_server_state WHERE ended_at < ?');
    this.find = this.db.prepare(
      'SELECT state FROM test_server_state WHERE device = ? AND direction = ? AND started_at BETWEEN ? AND ? ORDER BY abs(started_at - ?) LIMIT 1',
    );
  }

  static open(dataDir: string): ServerStateStore {
    return new ServerStateStore(path.join(dataDir, 'throughput.sqlite'));
  }

  record(device: string, kind: TestKind, startedAt: number, endedAt: number, state: TestServerState): void {
    if (!this.db.open) return;
    this.insert.run(device, kind.endsWith('download') ? 'download' : 'upload', startedAt, endedAt, JSON.stringify(state));
    if (++this.inserts % 500 === 1) this.purge.run(endedAt - KEEP_MS);
  }

  /** The state of the device's test in that direction that started nearest to `measuredAt`. */
  lookup(device: string, direction: 'download' | 'upload', measuredAt: number): TestServerState | undefined {
    if (!this.db.open) return undefined;
    const row = this.find.get(device, direction, measuredAt - MATCH_WINDOW_MS, measuredAt + MATCH_WINDOW_MS, measuredAt) as { state: string } | undefined;
    return row ? (JSON.parse(row.state) as TestServerState) : undefined;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
