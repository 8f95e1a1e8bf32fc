// The dead-letter store: results the schema accepted but InfluxDB refused because of the database's own
// state (a field type conflict left by earlier writes, the series or tag-value limits, the retention
// policy). They are not the result's fault, so the agent is never told to delete them as `rejected`: the
// collector takes custody here (SQLite, on disk, committed before the answer) with the exact line refused
// and InfluxDB's words, until an operator fixes the database and retries, or purges them. See
// docs/data-model.md#dead-letter-store.
import { z } from 'zod';
import { REFUSAL_KINDS, type PermanentWriteError, type RefusalKind } from '../influx/errors.ts';
import { writeIsolated } from '../influx/write-isolated.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import type { Store } from '../store/store.ts';

export interface DeadLetter {
  id: number;
  deviceId: string;
  siteCode: string;
  resultId: string;
  measurement: string;
  /** The exact line protocol InfluxDB refused; a retry sends it again as is. */
  line: string;
  kind: RefusalKind;
  reason: string;
  firstAt: number;
  lastAt: number;
  attempts: number;
}

export interface HeldResult {
  deviceId: string;
  siteCode: string;
  resultId: string;
  measurement: string;
  line: string;
  refusal: PermanentWriteError;
}

/** Which dead letters an admin command acts on; every field narrows, none means all. */
export const DeadLetterFilter = z
  .object({
    kind: z.enum(REFUSAL_KINDS).optional(),
    site: z.string().min(1).max(100).optional(),
    device: z.string().min(1).max(100).optional(),
    ids: z.array(z.number().int().positive()).max(10_000).optional(),
    limit: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();
export type DeadLetterFilter = z.infer<typeof DeadLetterFilter>;

interface Row {
  id: number;
  device_id: string;
  site_code: string;
  result_id: string;
  measurement: string;
  line: string;
  kind: RefusalKind;
  reason: string;
  first_at: number;
  last_at: number;
  attempts: number;
}

const fromRow = (r: Row): DeadLetter => ({
  id: r.id, deviceId: r.device_id, siteCode: r.site_code, resultId: r.result_id, measurement: r.measurement,
  line: r.line, kind: r.kind, reason: r.reason, firstAt: r.first_at, lastAt: r.last_at, attempts: r.attempts,
});

const WHERE = `(@kind IS NULL OR kind = @kind) AND (@site IS NULL OR site_code = @site) AND (@device IS NULL OR device_id = @device)
  AND (@ids IS NULL OR id IN (SELECT value FROM json_each(@ids)))`;

function params(filter: DeadLetterFilter) {
  return { kind: filter.kind ?? null, site: filter.site ?? null, device: filter.device ?? null, ids: filter.ids ? JSON.stringify(filter.ids) : null };
}

export interface RetryOutcome {
  /** Written to InfluxDB and removed from the store. */
  stored: number;
  /** Refused again: kept, with InfluxDB's new words. */
  refused: number;
  /** InfluxDB unreachable or misconfigured: the retry stopped, everything not yet stored is kept. */
  error?: string;
}

export class DeadLetters {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** Keeps refused results; a result held before (a resend) keeps its first time and counts one more attempt. Throws if the disk refuses. */
  hold(items: HeldResult[]): void {
    if (items.length === 0) return;
    const at = this.now();
    this.store.transaction(() => {
      for (const h of items) {
        this.store
          .sql(
            `INSERT INTO dead_letters (device_id, site_code, result_id, measurement, line, kind, reason, first_at, last_at)
             VALUES (@device, @site, @result, @measurement, @line, @kind, @reason, @at, @at)
             ON CONFLICT (device_id, result_id) DO UPDATE SET line = @line, kind = @kind, reason = @reason, last_at = @at, attempts = attempts + 1`,
          )
          .run({ device: h.deviceId, site: h.siteCode, result: h.resultId, measurement: h.measurement, line: h.line, kind: h.refusal.kind, reason: h.refusal.message.slice(0, 1000), at });
      }
    });
  }

  list(filter: DeadLetterFilter = {}): DeadLetter[] {
    const rows = this.store.sql(`SELECT * FROM dead_letters WHERE ${WHERE} ORDER BY id LIMIT @limit`).all({ ...params(filter), limit: filter.limit ?? 100 }) as Row[];
    return rows.map(fromRow);
  }

  /** How many are held, in total and by kind: figures for /healthz and the fleet dashboard. */
  counts(): { total: number; byKind: Partial<Record<RefusalKind, number>> } {
    if (!this.store.isOpen) return { total: 0, byKind: {} };
    const rows = this.store.sql('SELECT kind, COUNT(*) AS n FROM dead_letters GROUP BY kind').all() as { kind: RefusalKind; n: number }[];
    return { total: rows.reduce((sum, r) => sum + r.n, 0), byKind: Object.fromEntries(rows.map((r) => [r.kind, r.n])) };
  }

  purge(filter: DeadLetterFilter = {}): number {
    return this.store.sql(`DELETE FROM dead_letters WHERE ${WHERE}`).run(params(filter)).changes;
  }

  /** Sends the held lines again (after the database was fixed), 500 at a time; stored ones leave the store. */
  async retry(writer: Pick<InfluxWriter, 'writeLines'>, filter: DeadLetterFilter = {}): Promise<RetryOutcome> {
    const outcome: RetryOutcome = { stored: 0, refused: 0 };
    const limit = filter.limit ?? Number.MAX_SAFE_INTEGER;
    let afterId = 0;
    while (outcome.stored + outcome.refused < limit) {
      const batch = (this.store.sql(`SELECT * FROM dead_letters WHERE ${WHERE} AND id > @after ORDER BY id LIMIT @n`)
        .all({ ...params(filter), after: afterId, n: Math.min(500, limit - outcome.stored - outcome.refused) }) as Row[]).map(fromRow);
      if (batch.length === 0) break;
      afterId = batch[batch.length - 1]!.id;
      let refusals: (PermanentWriteError | undefined)[];
      try {
        refusals = await writeIsolated(writer, batch.map((d) => d.line));
      } catch (error) {
        outcome.error = (error as Error).message;
        break;
      }
      const at = this.now();
      this.store.transaction(() => {
        batch.forEach((d, i) => {
          const refusal = refusals[i];
          if (refusal === undefined) {
            this.store.sql('DELETE FROM dead_letters WHERE id = ?').run(d.id);
            outcome.stored++;
          } else {
            this.store.sql('UPDATE dead_letters SET kind = ?, reason = ?, last_at = ?, attempts = attempts + 1 WHERE id = ?').run(refusal.kind, refusal.message.slice(0, 1000), at, d.id);
            outcome.refused++;
          }
        });
      });
    }
    return outcome;
  }
}
