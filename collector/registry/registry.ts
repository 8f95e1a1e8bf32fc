// The site and device registry: who may send measurements, and which site's tags they carry.
// InfluxDB holds measurements only; the store (SQLite, or PostgreSQL shared by several collectors) holds
// identity only. This class is the registry's one face to the rest of the collector; its parts live beside
// it, one per table: sites.ts, enrollment-codes.ts, devices.ts, audit-log.ts (the audit log and the change
// feed read from it).
import type { Logger } from 'pino';
import { openCollectorStore } from '../database.ts';
import { type Store, storeInTransaction } from '../store/store.ts';
import { type AuditEntry, ChangeFeed, readAuditLog, writeAudit } from './audit-log.ts';
import type { RegistryContext } from './context.ts';
import {
  type AuthenticatedDevice, authenticateDevice, type DeviceFacts, type DeviceInfo, getDevice, isDeviceActive, LastSeenWriter, listDevices, moveDevice,
  revokeDevice,
} from './devices.ts';
import { createEnrollmentCode, enroll, type EnrollmentCodeInfo, listEnrollmentCodes, type NewEnrollmentCode, revokeEnrollmentCode } from './enrollment-codes.ts';
import type { Site, SiteInput, SitePatch } from './site.ts';
import { addSite, listSites, siteIn, updateSite } from './sites.ts';

// The registry's vocabulary, importable from here as before the split.
export { type AuditEntry, DEVICE_CHANGES_CHANNEL, type RegistryEvents } from './audit-log.ts';
export type { AuthenticatedDevice, Device, DeviceFacts, DeviceInfo } from './devices.ts';
export type { EnrollmentCodeInfo, EnrollmentCodeStatus, NewEnrollmentCode } from './enrollment-codes.ts';
export { EnrollmentError, type EnrollmentFailure, RegistryError } from './errors.ts';

export interface RegistryOptions {
  /** Wall clock in epoch ms; injectable so tests can move past an expiry. */
  now?: () => number;
}

export class Registry {
  private readonly now: () => number;
  private readonly lastSeen = new LastSeenWriter();

  private constructor(
    private readonly db: Store,
    private readonly feed: ChangeFeed,
    options: RegistryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** A registry on an open store (its tables migrated: collector/database.ts). */
  static async on(store: Store, options: RegistryOptions = {}): Promise<Registry> {
    return new Registry(store, await ChangeFeed.from(store), options);
  }

  /** Opens the registry of `dataDir`'s deployment (SQLite file there, or SONGCHECK_DATABASE_URL). */
  static async open(dataDir: string, options: RegistryOptions = {}): Promise<Registry> {
    const store = await openCollectorStore(dataDir);
    try {
      return await Registry.on(store, options);
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  /** Revocations and moves, so open connections (WebSockets) can act on them at once. */
  get events(): ChangeFeed['events'] {
    return this.feed.events;
  }

  /** The store, for features that keep their own tables in the same database (collector/control/store.ts). */
  get store(): Store {
    return this.db;
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /** What the parts run on; read per call, so a registry bound to a transaction passes the transaction. */
  private get ctx(): RegistryContext {
    return { db: this.db, now: this.now, feed: this.feed };
  }

  /**
   * Runs `fn` in one write transaction: all of it happens, or none. `fn` gets this registry bound to the
   * transaction (its methods, and `store` for other features' tables, run inside it); events of what it
   * did are emitted before the commit.
   */
  transaction<T>(fn: (registry: Registry) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => {
      const bound = Object.create(this) as Registry;
      Object.defineProperty(bound, 'db', { value: storeInTransaction(this.db, tx) });
      return fn(bound);
    });
  }

  /** Records a change made outside the registry's own tables (the console's alert acknowledgements, sign-ins). */
  async recordAudit(actor: string, action: string, subject: string, detail?: Record<string, unknown>): Promise<void> {
    await writeAudit(this.db, this.now(), actor, action, subject, detail);
  }

  // ---- sites (sites.ts)

  addSite(input: SiteInput, actor = 'registry'): Promise<Site> {
    return addSite(this.ctx, input, actor);
  }

  /**
   * Edits a site: fields left out stay, `null` clears. Returns the site and the names of the fields that
   * really changed (none: nothing is written). Future results carry the new tags; stored points keep theirs.
   */
  updateSite(code: string, patch: SitePatch, actor = 'registry'): Promise<{ site: Site; changed: string[] }> {
    return updateSite(this.ctx, code, patch, actor);
  }

  getSite(code: string): Promise<Site | undefined> {
    return siteIn(this.db, code);
  }

  listSites(): Promise<Site[]> {
    return listSites(this.db);
  }

  // ---- enrollment codes (enrollment-codes.ts)

  /** Returns the plaintext code; only its hash is stored, so this is the one chance to read it. */
  createEnrollmentCode(siteCode: string, opts: { ttlDays?: number; uses?: number } = {}, actor = 'registry'): Promise<NewEnrollmentCode> {
    return createEnrollmentCode(this.ctx, siteCode, opts, actor);
  }

  listEnrollmentCodes(filter: { siteCode?: string; activeOnly?: boolean } = {}): Promise<EnrollmentCodeInfo[]> {
    return listEnrollmentCodes(this.ctx, filter);
  }

  /** Withdraws a code (a lost or leaked sheet); devices already enrolled with it are not affected. */
  revokeEnrollmentCode(id: string, actor = 'registry'): Promise<boolean> {
    return revokeEnrollmentCode(this.ctx, id, actor);
  }

  /** Exchanges a code for a new device identity (always a new device); throws EnrollmentError with why not. */
  enroll(code: string, facts: DeviceFacts = {}): Promise<{ deviceId: string; token: string; site: Site; duplicateOf: string[] }> {
    return enroll(this.ctx, code, facts);
  }

  // ---- devices (devices.ts)

  /** The device and its site for a bearer token, or null for an unknown or revoked token (nothing cached). */
  authenticateDevice(token: string): Promise<AuthenticatedDevice | null> {
    return authenticateDevice(this.db, token);
  }

  /** Records when a device was last heard from (at most once a minute per device: each write is a commit). */
  touchDevice(deviceId: string, lastSeenAt: number, agentVersion?: string): Promise<void> {
    return this.lastSeen.touch(this.db, deviceId, lastSeenAt, agentVersion);
  }

  /** Whether the device exists and is not revoked (a cheap check for long-lived connections). */
  isDeviceActive(deviceId: string): Promise<boolean> {
    return isDeviceActive(this.db, deviceId);
  }

  getDevice(id: string): Promise<DeviceInfo | undefined> {
    return getDevice(this.db, id);
  }

  listDevices(filter: { siteCode?: string; includeRevoked?: boolean } = {}): Promise<DeviceInfo[]> {
    return listDevices(this.db, filter);
  }

  /** Revokes a device (its token refused from the next request, `revoked` emitted); false when it already was. */
  revokeDevice(deviceId: string, opts: { reason?: string; actor?: string } = {}): Promise<boolean> {
    return revokeDevice(this.ctx, deviceId, opts);
  }

  /** Moves a device to another site: its future results carry the new site's tags; stored points keep theirs. */
  moveDevice(deviceId: string, siteCode: string, actor = 'registry'): Promise<{ from: string; to: string; changed: boolean }> {
    return moveDevice(this.ctx, deviceId, siteCode, actor);
  }

  // ---- audit log and change feed (audit-log.ts)

  auditLog(filter: { subject?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    return readAuditLog(this.db, filter);
  }

  /**
   * Emits `revoked` and `moved` for changes made by other connections to the same database (the CLI, other
   * collector processes or machines). Changes made through this object are emitted at once and not again.
   */
  pollChanges(): Promise<void> {
    return this.feed.poll(this.db);
  }

  /**
   * Calls pollChanges every `intervalMs`, and at once when another collector announces a change
   * (PostgreSQL NOTIFY), until the returned function is called; a failing poll is logged and counted in
   * /healthz (`timers`, `registry.changes`).
   */
  watchChanges(intervalMs = 1000, logger?: Logger): () => Promise<void> {
    return this.feed.watch(this.db, intervalMs, logger);
  }

  async counts(): Promise<{ sites: number; devices: number }> {
    const sites = (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM sites'))!.n;
    const devices = (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM devices WHERE revoked_at IS NULL'))!.n;
    return { sites, devices };
  }
}
