// The evidence feature in a running collector: the key store, the signature check at ingest, the log,
// the daily heads (recorded, and sent to the webhook when one is configured), and a daily sweep that
// closes quiet days and applies the retention.
import type { Logger } from 'pino';
import { type Periodic, periodic } from '../periodic.ts';
import type { Store } from '../store/store.ts';
import type { EvidenceConfig } from './config.ts';
import { type ClosedDay, type EvidenceEntry, EvidenceLog } from './log.ts';
import { checkSignatures, type CheckedBatch } from './signatures.ts';
import { EvidenceStore } from './store.ts';

/** How often a device's refused signatures are sent to the webhook at most. */
const ALERT_EVERY_MS = 3_600_000;
const SWEEP_EVERY_MS = 3_600_000;

export class EvidenceService {
  readonly store: EvidenceStore;
  readonly log: EvidenceLog;
  private readonly lastAlert = new Map<string, number>();
  private timer?: Periodic;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    readonly config: EvidenceConfig,
    db: Store,
    timeZone: string,
    private readonly deps: { logger?: Logger; clock?: () => number; fetch?: typeof fetch } = {},
  ) {
    this.store = new EvidenceStore(db);
    this.log = new EvidenceLog(config.dir, timeZone, (day) => this.track(this.dayClosed(day)));
  }

  private now(): number {
    return (this.deps.clock ?? Date.now)();
  }

  async check(items: unknown[], ctx: { deviceId: string; siteCode: string; agentVersion?: string; now: number }): Promise<CheckedBatch> {
    const checked = checkSignatures(items, { ...ctx, key: await this.store.getKey(ctx.deviceId) });
    const { counts } = checked;
    if (counts.unsigned > 0) await this.store.count(ctx.deviceId, 'unsigned', counts.unsigned, ctx.now, `agent ${ctx.agentVersion ?? 'without a version'}`);
    if (counts.invalid > 0) {
      const reason = checked.refused.find((r) => r !== undefined);
      await this.store.count(ctx.deviceId, 'invalid_signature', counts.invalid, ctx.now, reason);
      this.deps.logger?.error({ device: ctx.deviceId, site: ctx.siteCode, refused: counts.invalid, reason }, 'results refused: invalid signature');
      const last = this.lastAlert.get(ctx.deviceId) ?? 0;
      if (ctx.now - last >= ALERT_EVERY_MS) {
        this.lastAlert.set(ctx.deviceId, ctx.now);
        this.notify({ kind: 'evidence.invalid_signature', site: ctx.siteCode, device: ctx.deviceId, refused: counts.invalid, reason, at: ctx.now });
      }
    }
    return checked;
  }

  /** Appends the stored results' entries (rejects when the disk refuses: then nothing is acknowledged). */
  async append(siteCode: string, entries: EvidenceEntry[], now: number): Promise<void> {
    await this.log.append(siteCode, entries, now);
  }

  /** Keeps a background write (a closed day's head) so close() can wait for it. */
  private track(work: Promise<unknown>): void {
    const p = work
      .catch((error: unknown) => this.deps.logger?.error({ err: (error as Error).message }, 'evidence: could not record a closed day'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async dayClosed(day: ClosedDay): Promise<void> {
    if (!(await this.store.recordHead(day, this.now()))) return;
    this.deps.logger?.info({ site: day.site, date: day.date, head: day.head, entries: day.entries }, 'evidence day closed');
    this.notify({ kind: 'evidence.head', ...day });
  }

  /** Closes yesterday and earlier days of quiet sites, and deletes day files past the retention. */
  async sweep(): Promise<{ closed: number; pruned: number }> {
    const now = this.now();
    const closed = (await this.log.closeQuietDays(now, (site, date) => this.store.isRecorded(site, date))).length;
    const pruned = this.log.prune(now, this.config.retentionDays);
    return { closed, pruned };
  }

  start(): void {
    // No lease: closing a day records its head once (recordHead), and pruning old day files is idempotent.
    this.timer = periodic('evidence.sweep', SWEEP_EVERY_MS, () => this.sweep(), { runAtStart: true, ...(this.deps.logger ? { logger: this.deps.logger } : {}) });
  }

  /** Best effort: the head is recorded in the database either way; the webhook gives a third party a copy. */
  private notify(body: Record<string, unknown>): void {
    const url = this.config.webhookUrl;
    if (!url) return;
    const send = (this.deps.fetch ?? fetch)(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })
      .then((res) => {
        if (!res.ok) throw new Error(`webhook answered ${res.status}`);
      })
      .catch((error: Error) => this.deps.logger?.warn({ err: error.message, kind: body.kind }, 'evidence webhook failed'))
      .finally(() => this.pending.delete(send));
    this.pending.add(send);
  }

  async close(): Promise<void> {
    await this.timer?.stop();
    await Promise.all([...this.pending]);
  }
}
