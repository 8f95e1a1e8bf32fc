// Alert state, outbox, silences, lease and small facts in the collector's database (migration 4,
// collector/alerts/migrations.ts). The engine may run in any collector process; its lease makes it one.
import { randomBytes } from 'node:crypto';
import type { AlertMessage } from './types.ts';
import type { Store } from '../store/store.ts';
import { storeInTransaction } from '../store/store.ts';

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
  constructor(readonly db: Store) {}

  /** Runs `fn` in one write transaction; `fn` gets a store whose statements run inside it. */
  transaction<T>(fn: (tx: AlertStore) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new AlertStore(storeInTransaction(this.db, tx))));
  }

  // ---- state
  async states(ruleId?: string): Promise<AlertState[]> {
    const rows = ruleId === undefined
      ? await this.db.all('SELECT * FROM alert_state ORDER BY rule_id, site_code')
      : await this.db.all('SELECT * FROM alert_state WHERE rule_id = ? ORDER BY site_code', ruleId);
    return rows.map(stateFromRow);
  }

  async getState(ruleId: string, siteCode: string): Promise<AlertState | undefined> {
    const row = await this.db.get('SELECT * FROM alert_state WHERE rule_id = ? AND site_code = ?', ruleId, siteCode);
    return row ? stateFromRow(row) : undefined;
  }

  async putState(s: AlertState): Promise<void> {
    const values = COLS.map(([key]) => s[key] ?? null);
    await this.db.run(
      `INSERT INTO alert_state (${COLS.map(([, c]) => c).join(', ')}) VALUES (${COLS.map(() => '?').join(', ')})
       ON CONFLICT (rule_id, site_code) DO UPDATE SET ${COLS.slice(2).map(([, c]) => `${c} = excluded.${c}`).join(', ')}`,
      ...values,
    );
  }

  /** Acknowledges a firing (or pending) alert until it resolves. False when there is nothing to acknowledge. */
  async acknowledge(ruleId: string, siteCode: string, by: string, at: number): Promise<boolean> {
    const info = await this.db.run("UPDATE alert_state SET acked_at = ?, acked_by = ? WHERE rule_id = ? AND site_code = ? AND state IN ('pending', 'firing')",
      at, by, ruleId, siteCode);
    return info.changes > 0;
  }

  // ---- outbox
  async enqueue(channel: string, message: AlertMessage, at: number): Promise<number> {
    const row = await this.db.get<{ id: number }>('INSERT INTO alert_outbox (created_at, channel, kind, message, next_attempt_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
      at, channel, message.kind, JSON.stringify(message), at);
    return row!.id;
  }

  async due(now: number, limit = 100): Promise<OutboxRow[]> {
    const rows = await this.db.all("SELECT * FROM alert_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?", now, limit);
    return rows.map(outboxFromRow);
  }

  async outbox(filter: { status?: string; limit?: number } = {}): Promise<OutboxRow[]> {
    const rows = filter.status
      ? await this.db.all('SELECT * FROM alert_outbox WHERE status = ? ORDER BY id DESC LIMIT ?', filter.status, filter.limit ?? 100)
      : await this.db.all('SELECT * FROM alert_outbox ORDER BY id DESC LIMIT ?', filter.limit ?? 100);
    return rows.map(outboxFromRow);
  }

  async markSent(id: number, at: number): Promise<void> {
    await this.db.run("UPDATE alert_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?", at, id);
  }

  async markFailedAttempt(id: number, error: string, nextAttemptAt: number | undefined): Promise<void> {
    if (nextAttemptAt === undefined) await this.db.run("UPDATE alert_outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?", error, id);
    else await this.db.run('UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?', error, nextAttemptAt, id);
  }

  // ---- silences
  async addSilence(s: Omit<Silence, 'id'>): Promise<Silence> {
    const silence = { ...s, id: `sil_${randomBytes(8).toString('hex')}` };
    await this.db.run('INSERT INTO alert_silences (id, rule_id, site_code, group_key, until, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      silence.id, s.ruleId ?? null, s.siteCode ?? null, s.groupKey ?? null, s.until, s.reason ?? null, s.createdBy, s.createdAt);
    return silence;
  }

  async silences(activeAt?: number): Promise<Silence[]> {
    const rows = activeAt === undefined
      ? await this.db.all('SELECT * FROM alert_silences ORDER BY created_at')
      : await this.db.all('SELECT * FROM alert_silences WHERE until > ? ORDER BY created_at', activeAt);
    return rows.map((r) => {
      const s: Silence = { id: r.id as string, until: r.until as number, createdBy: r.created_by as string, createdAt: r.created_at as number };
      if (r.rule_id !== null) s.ruleId = r.rule_id as string;
      if (r.site_code !== null) s.siteCode = r.site_code as string;
      if (r.group_key !== null) s.groupKey = r.group_key as string;
      if (r.reason !== null) s.reason = r.reason as string;
      return s;
    });
  }

  async removeSilence(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM alert_silences WHERE id = ?', id)).changes > 0;
  }

  // ---- lease: one evaluating process among all collectors sharing the database
  tryLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    return this.db.tryLease(name, holder, now, ttlMs);
  }

  releaseLease(name: string, holder: string): Promise<void> {
    return this.db.releaseLease(name, holder);
  }

  // ---- facts
  async getMeta(key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM alert_meta WHERE key = ?', key))?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db.run('INSERT INTO alert_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value);
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
