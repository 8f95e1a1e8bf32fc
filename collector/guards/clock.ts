// Future-stamped results (issue 14, case 11): a device whose clock runs fast used to lose everything it
// measured, because results more than MAX_FUTURE_MS ahead were rejected and the agent deleted them. The
// batch carries `sentAt` (the device clock when it sent), so the collector corrects instead: the result is
// stored at measuredAt + (collector now − sentAt), never later than now, and flagged with the float field
// `clock_shift_ms` (stored time − measuredAt). The time chosen is recorded per result id, so a resend
// (with another sentAt) lands on the same point. See docs/data-model.md#timestamps.
import type { Store } from '../store/store.ts';

/** Results stamped further ahead of the collector's clock than this are corrected. */
export const MAX_FUTURE_MS = 10 * 60_000;
/** How long a correction is remembered for resends; older rows are pruned. */
const KEEP_MS = 35 * 86_400_000;

export class ClockCorrections {
  /** Results corrected since start (this process). */
  corrected = 0;
  private lastPrune = 0;

  constructor(private readonly store: Store) {}

  /** The time to store a result under, and the shift applied (0 when it was not ahead). */
  storedTime(deviceId: string, resultId: string, measuredAt: number, sentAt: number | undefined, now: number): { time: number; shiftMs: number } {
    if (measuredAt - now <= MAX_FUTURE_MS) return { time: measuredAt, shiftMs: 0 };
    const known = this.store.sql('SELECT stored_at_ms FROM clock_corrections WHERE device_id = ? AND result_id = ?').get(deviceId, resultId) as { stored_at_ms: number } | undefined;
    let time = known?.stored_at_ms;
    if (time === undefined) {
      const byBatch = sentAt !== undefined && Number.isFinite(sentAt) ? measuredAt + (now - sentAt) : now;
      time = Math.min(Math.round(byBatch), now);
      this.store.sql('INSERT OR IGNORE INTO clock_corrections (device_id, result_id, stored_at_ms, recorded_at) VALUES (?, ?, ?, ?)').run(deviceId, resultId, time, now);
      this.prune(now);
    }
    this.corrected++;
    return { time, shiftMs: time - measuredAt };
  }

  private prune(now: number): void {
    if (now - this.lastPrune < 3_600_000) return;
    this.lastPrune = now;
    this.store.sql('DELETE FROM clock_corrections WHERE recorded_at < ?').run(now - KEEP_MS);
  }
}
