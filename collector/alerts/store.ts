// Alert state, outbox, silences, lease and small facts in the collector's database (alerts/migrations.ts).
// Its own connection: the engine may run in any collector process.
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/store.ts';
import type { AlertMessage } from './types.ts';

export type AlertStateName = 'ok' | 'pending' | 'firing' | 'resolved';

export interface AlertState {
  ruleId: string;
  siteCode: string;
  state: AlertStateName;
  since: number;
  pendingSince?: number;
  firedAt?: number;
  resolvedAt?: number;
  notifiedAt?: number;
  lastNotifiedAt?: number;
  clearStreak: number;
  ackedAt?: number;
  ackedBy?: string;
  groupId?: string;
  value?: number;
  summary?: string;
}

export interface OutboxRow {
  id: number;
  createdAt: number;
  channel: string;
  kind: string;
  message: AlertMessage;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
  sentAt?: number;
}

export interface Silence {
  id: string;
  ruleId?: string;
  siteCode?: string;
  /** `commune:<name>` or `operator:<name>`. */
  groupKey?: string;
  until: number;
  reason?: string;
  createdBy: string;
  createdAt: number;
}

const COLS: [keyof AlertState, string][] = [
  ['ruleId', 'rule_id'], ['siteCode', 'site_code'], ['state', 'state'], ['since', 'since'], ['pendingSince', 'pending_since'],
  ['firedAt', 'fired_at'], ['resolvedAt', 'resolved_at'], ['notifiedAt', 'notified_at'], ['lastNotifiedAt', 'last_notified_at'],
  ['clearStreak', 'clear_streak'], ['ackedAt', 'acked_at'], ['ackedBy', 'acked_by'], ['groupId', 'group_id'], ['value', 'value'], ['summary', 'summary'],
];

function stateFromRow(row: Record<string, unknown>): AlertState {
  const s: Record<string, unknown> = {};
  for (const [key, col] of COLS) if (row[col] !== null && row[col] !== undefined) s[key] = row[col];
  return s as unknown as AlertState;
}

export class AlertStore {
  // A tick writes one row per rule and site; compiling each statement once keeps that cheap.
  private readonly sql: Store['sql'];

  constructor(readonly db: Store) {
    this.sql = (source) => db.sql(source);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn);
  }

  // ---- state
  states(ruleId?: string): AlertState[] {
    const rows = ruleId === undefined
      ? this.sql('SELECT * FROM alert_state ORDER BY rule_id, site_code').all()
      : this.sql('SELECT * FROM alert_state WHERE rule_id = ? ORDER BY site_code').all(ruleId);
    return (rows as Record<string, unknown>[]).map(stateFromRow);
  }

  getState(ruleId: string, siteCode: string): AlertState | undefined {
    const row = this.sql('SELECT * FROM alert_state WHERE rule_id = ? AND site_code = ?').get(ruleId, siteCode) as Record<string, unknown> | undefined;
    return row ? stateFromRow(row) : undefined;
  }

  putState(s: AlertState): void {
    const values = COLS.map(([key]) => s[key] ?? null);
    this.sql(`INSERT OR REPLACE INTO alert_state (${COLS.map(([, c]) => c).join(', ')}) VALUES (${COLS.map(() => '?').join(', ')})`).run(...values);
  }

  /** Acknowledges a firing (or pending) alert until it resolves. False when there is nothing to acknowledge. */
  acknowledge(ruleId: string, siteCode: string, by: string, at: number): boolean {
    const info = this.sql("UPDATE alert_state SET acked_at = ?, acked_by = ? WHERE rule_id = ? AND site_code = ? AND state IN ('pending', 'firing')").run(at, by, ruleId, siteCode);
    return info.changes > 0;
  }

  // ---- outbox
  enqueue(channel: string, message: AlertMessage, at: number): number {
    const info = this.sql('INSERT INTO alert_outbox (created_at, channel, kind, message, next_attempt_at) VALUES (?, ?, ?, ?, ?)').run(at, channel, message.kind, JSON.stringify(message), at);
    return Number(info.lastInsertRowid);
  }

  due(now: number, limit = 100): OutboxRow[] {
    const rows = this.sql("SELECT * FROM alert_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?").all(now, limit);
    return (rows as Record<string, unknown>[]).map(outboxFromRow);
  }

  outbox(filter: { status?: string; limit?: number } = {}): OutboxRow[] {
    const rows = filter.status
      ? this.sql('SELECT * FROM alert_outbox WHERE status = ? ORDER BY id DESC LIMIT ?').all(filter.status, filter.limit ?? 100)
      : this.sql('SELECT * FROM alert_outbox ORDER BY id DESC LIMIT ?').all(filter.limit ?? 100);
    return (rows as Record<string, unknown>[]).map(outboxFromRow);
  }

  markSent(id: number, at: number): void {
    this.sql("UPDATE alert_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?").run(at, id);
  }

  markFailedAttempt(id: number, error: string, nextAttemptAt: number | undefined): void {
    if (nextAttemptAt === undefined) this.sql("UPDATE alert_outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?").run(error, id);
    else this.sql('UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?').run(error, nextAttemptAt, id);
  }

  // ---- silences
  addSilence(s: Omit<Silence, 'id'>): Silence {
    const silence = { ...s, id: `sil_${randomBytes(8).toString('hex')}` };
    this.sql('INSERT INTO alert_silences (id, rule_id, site_code, group_key, until, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(silence.id, s.ruleId ?? null, s.siteCode ?? null, s.groupKey ?? null, s.until, s.reason ?? null, s.createdBy, s.createdAt);
    return silence;
  }

  silences(activeAt?: number): Silence[] {
    const rows = (activeAt === undefined
      ? this.sql('SELECT * FROM alert_silences ORDER BY created_at').all()
      : this.sql('SELECT * FROM alert_silences WHERE until > ? ORDER BY created_at').all(activeAt)) as Record<string, unknown>[];
    return rows.map((r) => {
      const s: Silence = { id: r.id as string, until: r.until as number, createdBy: r.created_by as string, createdAt: r.created_at as number };
      if (r.rule_id !== null) s.ruleId = r.rule_id as string;
      if (r.site_code !== null) s.siteCode = r.site_code as string;
      if (r.group_key !== null) s.groupKey = r.group_key as string;
      if (r.reason !== null) s.reason = r.reason as string;
      return s;
    });
  }

  removeSilence(id: string): boolean {
    return this.sql('DELETE FROM alert_silences WHERE id = ?').run(id).changes > 0;
  }

  // ---- lease: one evaluating process among several collectors sharing the file
  tryLease(name: string, holder: string, now: number, ttlMs: number): boolean {
    return this.db.tryLease(name, holder, now, ttlMs);
  }

  releaseLease(name: string, holder: string): void {
    this.db.releaseLease(name, holder);
  }

  // ---- facts
  getMeta(key: string): string | undefined {
    return (this.sql('SELECT value FROM alert_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.sql('INSERT OR REPLACE INTO alert_meta (key, value) VALUES (?, ?)').run(key, value);
  }
}

function outboxFromRow(r: Record<string, unknown>): OutboxRow {
  const row: OutboxRow = {
    id: r.id as number, createdAt: r.created_at as number, channel: r.channel as string, kind: r.kind as string,
    message: JSON.parse(r.message as string) as AlertMessage, status: r.status as OutboxRow['status'],
    attempts: r.attempts as number, nextAttemptAt: r.next_attempt_at as number,
  };
  if (r.last_error !== null) row.lastError = r.last_error as string;
  if (r.sent_at !== null) row.sentAt = r.sent_at as number;
  return row;
}
