// The control channel's tables in the collector's database (migration 3): pushed configurations and each
// device's state of them, commands, who is connected, and leases. Every collector process (and the CLI)
// opens the same database (a SQLite file, or PostgreSQL shared by collectors on several machines), so this
// is also how a push made in one process reaches a socket held by another: each process polls
// latestVersion() and pendingCommands() (see hub.ts), and on PostgreSQL is notified at once.
import { randomBytes } from 'node:crypto';
import type { ControlCommand } from '../../protocol/control.ts';
import { insertionOrder, type SqlRunner, type Store } from '../store/store.ts';

/** Announced (PostgreSQL NOTIFY) when a configuration is pushed or a command queued, so every hub polls now. */
export const CONTROL_CHANNEL = 'control';

export type ConfigScope = { kind: 'all' } | { kind: 'group'; group: string } | { kind: 'site'; site: string };
export type ConfigState = 'pending' | 'applied' | 'rejected';
export type CommandStatus = 'pending' | 'sent' | 'done' | 'failed' | 'expired';

export interface StoredConfig {
  version: number;
  scope: string;
  config: Record<string, unknown>;
  createdAt: number;
  actor: string;
}

export interface DeviceConfigStatus {
  deviceId: string;
  siteCode: string;
  /** The version meant for the device (0: none pushed to it). */
  wantedVersion: number;
  /** The last version the device answered about, and how. */
  reportedVersion?: number;
  state: ConfigState | 'none';
  reason?: string;
  updatedAt?: number;
}

export interface StoredCommand {
  id: string;
  deviceId: string;
  command: ControlCommand;
  status: CommandStatus;
  detail?: string;
  actor: string;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
}

export interface PresenceRow {
  deviceId: string;
  siteCode: string;
  connected: boolean;
  /** When the lease of the process holding the connection expires (a crashed process stops renewing it). */
  holderUntil: number;
  lastSeenAt?: number;
  clockOffsetMs?: number;
  agentVersion?: string;
  revoked: boolean;
}

export function scopeKey(scope: ConfigScope): string {
  return scope.kind === 'all' ? 'all' : scope.kind === 'group' ? `group:${scope.group}` : `site:${scope.site}`;
}

type CommandRowRaw = { id: string; device_id: string; command: string; status: CommandStatus; detail: string | null; actor: string; created_at: number; expires_at: number; updated_at: number };
const commandFromRow = (r: CommandRowRaw): StoredCommand => ({
  id: r.id,
  deviceId: r.device_id,
  command: JSON.parse(r.command) as ControlCommand,
  status: r.status,
  ...(r.detail !== null ? { detail: r.detail } : {}),
  actor: r.actor,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  updatedAt: r.updated_at,
});

export class ControlStore {
  constructor(
    private readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {}

  // ---- configurations

  async pushConfig(scope: ConfigScope, config: Record<string, unknown>, actor: string): Promise<StoredConfig> {
    const at = this.now();
    const row = await this.db.get<{ version: number }>('INSERT INTO agent_configs (scope, config, created_at, actor) VALUES (?, ?, ?, ?) RETURNING version',
      scopeKey(scope), JSON.stringify(config), at, actor);
    await this.db.notify(CONTROL_CHANNEL);
    return { version: row!.version, scope: scopeKey(scope), config, createdAt: at, actor };
  }

  async latestVersion(): Promise<number> {
    return (await this.db.get<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM agent_configs'))!.v;
  }

  /**
   * The configuration meant for a site: the newest pushed to the site itself, else the newest pushed to
   * any of its groups, else the newest pushed to all. The most specific scope wins, so a push to all
   * does not undo a site's own configuration.
   */
  async effectiveConfig(site: { code: string; groups: string[] }): Promise<StoredConfig | undefined> {
    const scopes = [`site:${site.code}`, ...site.groups.map((g) => `group:${g}`), 'all'];
    const rows = await this.db.all<{ version: number; scope: string; config: string; created_at: number; actor: string }>(
      `SELECT version, scope, config, created_at, actor FROM agent_configs WHERE scope IN (${scopes.map(() => '?').join(',')}) ORDER BY version DESC`,
      ...scopes,
    );
    const rank = (scope: string) => (scope.startsWith('site:') ? 0 : scope.startsWith('group:') ? 1 : 2);
    const best = rows.sort((a, b) => rank(a.scope) - rank(b.scope) || b.version - a.version)[0];
    return best && { version: best.version, scope: best.scope, config: JSON.parse(best.config) as Record<string, unknown>, createdAt: best.created_at, actor: best.actor };
  }

  async listConfigs(limit = 100): Promise<StoredConfig[]> {
    const rows = await this.db.all<{ version: number; scope: string; config: string; created_at: number; actor: string }>(
      'SELECT version, scope, config, created_at, actor FROM agent_configs ORDER BY version DESC LIMIT ?', limit);
    return rows.map((r) => ({ version: r.version, scope: r.scope, config: JSON.parse(r.config) as Record<string, unknown>, createdAt: r.created_at, actor: r.actor }));
  }

  async setConfigState(deviceId: string, version: number, state: ConfigState, reason?: string): Promise<void> {
    await this.db.run(
      `INSERT INTO device_config_state (device_id, version, status, reason, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(device_id) DO UPDATE SET version = excluded.version, status = excluded.status, reason = excluded.reason, updated_at = excluded.updated_at`,
      deviceId, version, state, reason ?? null, this.now(),
    );
  }

  /** Per active device: the version meant for it and what it last reported. */
  async configStatus(sites: Map<string, { code: string; groups: string[] }>, devices: { id: string; siteCode: string }[]): Promise<DeviceConfigStatus[]> {
    const states = new Map(
      (await this.db.all<{ device_id: string; version: number; status: ConfigState; reason: string | null; updated_at: number }>(
        'SELECT device_id, version, status, reason, updated_at FROM device_config_state',
      )).map((r) => [r.device_id, r]),
    );
    const wantedBySite = new Map<string, number>();
    const out: DeviceConfigStatus[] = [];
    for (const d of devices) {
      let wanted = wantedBySite.get(d.siteCode);
      if (wanted === undefined) {
        const site = sites.get(d.siteCode);
        wanted = (site && (await this.effectiveConfig(site))?.version) ?? 0;
        wantedBySite.set(d.siteCode, wanted);
      }
      const s = states.get(d.id);
      // A state about an older version than the one wanted means the new one has not been answered yet.
      const state: DeviceConfigStatus['state'] = wanted === 0 ? (s ? s.status : 'none') : s && s.version === wanted ? s.status : 'pending';
      out.push({
        deviceId: d.id,
        siteCode: d.siteCode,
        wantedVersion: wanted,
        ...(s ? { reportedVersion: s.version, updatedAt: s.updated_at } : {}),
        state,
        ...(s?.reason && s.version === wanted ? { reason: s.reason } : {}),
      });
    }
    return out;
  }

  // ---- commands

  async addCommand(deviceId: string, command: ControlCommand, actor: string, ttlMs: number): Promise<StoredCommand> {
    const at = this.now();
    const id = `cmd_${randomBytes(8).toString('hex')}`;
    await this.db.run('INSERT INTO control_commands (id, device_id, command, status, actor, created_at, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      id, deviceId, JSON.stringify(command), 'pending', actor, at, at + ttlMs, at);
    await this.db.notify(CONTROL_CHANNEL);
    return { id, deviceId, command, status: 'pending', actor, createdAt: at, expiresAt: at + ttlMs, updatedAt: at };
  }

  async getCommand(id: string): Promise<StoredCommand | undefined> {
    const row = await this.db.get<CommandRowRaw>('SELECT * FROM control_commands WHERE id = ?', id);
    return row && commandFromRow(row);
  }

  async listCommands(filter: { deviceId?: string; limit?: number } = {}): Promise<StoredCommand[]> {
    // Within one millisecond, newest written first.
    const tie = insertionOrder(this.db, 'control_commands');
    const rows = await this.db.all<CommandRowRaw>(
      `SELECT * FROM control_commands WHERE (CAST(@device AS TEXT) IS NULL OR device_id = @device) ORDER BY created_at DESC, ${tie} DESC LIMIT @limit`,
      { device: filter.deviceId ?? null, limit: filter.limit ?? 100 },
    );
    return rows.map(commandFromRow);
  }

  /** Pending commands; expired ones are marked expired first. */
  async pendingCommands(): Promise<StoredCommand[]> {
    await this.db.run("UPDATE control_commands SET status = 'expired', updated_at = @now WHERE status IN ('pending', 'sent') AND expires_at < @now", { now: this.now() });
    return (await this.db.all<CommandRowRaw>("SELECT * FROM control_commands WHERE status = 'pending' ORDER BY created_at LIMIT 1000")).map(commandFromRow);
  }

  /** Moves a command on; `from` guards against two processes sending the same command. Returns whether it moved. */
  async markCommand(id: string, status: CommandStatus, detail?: string, from?: CommandStatus): Promise<boolean> {
    const info = await this.db.run(
      'UPDATE control_commands SET status = @status, detail = COALESCE(@detail, detail), updated_at = @now WHERE id = @id AND (CAST(@from AS TEXT) IS NULL OR status = @from)',
      { status, detail: detail ?? null, now: this.now(), id, from: from ?? null },
    );
    return info.changes > 0;
  }

  // ---- presence

  /** Records connects, disconnects and refreshes in one transaction (one commit for many devices). */
  async writePresence(rows: { deviceId: string; holder: string; connected: boolean; changedAt?: number; clockOffsetMs?: number; agentVersion?: string }[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const r of rows) await upsertPresence(tx, r, this.now());
    });
  }

  /** Every enrolled device (revoked ones too) with its presence, for the per-minute sweep. */
  async presence(): Promise<PresenceRow[]> {
    const rows = await this.db.all<{ id: string; site_code: string; last_seen_at: number | null; revoked_at: number | null; d_version: string | null; connected: number | null; holder_until: number | null; clock_offset_ms: number | null; agent_version: string | null }>(
      `SELECT d.id, d.site_code, d.last_seen_at, d.revoked_at, d.agent_version AS d_version, p.connected, l.expires_at AS holder_until, p.clock_offset_ms, p.agent_version
       FROM devices d LEFT JOIN control_presence p ON p.device_id = d.id LEFT JOIN leases l ON l.name = 'holder:' || p.holder`,
    );
    return rows.map((r) => ({
      deviceId: r.id,
      siteCode: r.site_code,
      connected: r.connected === 1,
      holderUntil: r.holder_until ?? 0,
      ...(r.last_seen_at !== null ? { lastSeenAt: r.last_seen_at } : {}),
      ...(r.clock_offset_ms !== null ? { clockOffsetMs: r.clock_offset_ms } : {}),
      ...((r.agent_version ?? r.d_version) !== null ? { agentVersion: (r.agent_version ?? r.d_version)! } : {}),
      revoked: r.revoked_at !== null,
    }));
  }

  /** Marks every device this holder claimed as disconnected (its process is shutting down). */
  async releaseHolder(holder: string): Promise<void> {
    await this.db.run('UPDATE control_presence SET connected = 0, changed_at = ?, refreshed_at = ? WHERE holder = ? AND connected = 1', this.now(), this.now(), holder);
  }

  // ---- leases

  /** Takes or renews a lease (collector/store/leases.ts); true while this holder has it. */
  tryLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.db.tryLease(name, holder, this.now(), ttlMs);
  }
}

export type PresenceWrite = { deviceId: string; holder: string; connected: boolean; changedAt?: number; clockOffsetMs?: number; agentVersion?: string };

/** One device's connect, disconnect or refresh; inside the caller's transaction. */
export async function upsertPresence(tx: SqlRunner, r: PresenceWrite, at: number): Promise<void> {
  await tx.run(
    `INSERT INTO control_presence (device_id, holder, connected, changed_at, refreshed_at, clock_offset_ms, agent_version) VALUES (@device, @holder, @connected, @changed, @at, @offset, @version)
     ON CONFLICT(device_id) DO UPDATE SET
       holder = CASE WHEN @connected = 1 OR control_presence.holder = @holder THEN @holder ELSE control_presence.holder END,
       connected = CASE WHEN @connected = 1 OR control_presence.holder = @holder THEN @connected ELSE control_presence.connected END,
       changed_at = COALESCE(CAST(@changedOnly AS BIGINT), control_presence.changed_at),
       refreshed_at = @at,
       clock_offset_ms = COALESCE(CAST(@offset AS DOUBLE PRECISION), control_presence.clock_offset_ms),
       agent_version = COALESCE(CAST(@version AS TEXT), control_presence.agent_version)`,
    { device: r.deviceId, holder: r.holder, connected: r.connected ? 1 : 0, changed: r.changedAt ?? at, changedOnly: r.changedAt ?? null, at, offset: r.clockOffsetMs ?? null, version: r.agentVersion ?? null },
  );
}
