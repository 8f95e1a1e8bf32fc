// The series budget: how many distinct `target` values one device may report per probe. Each target is a
// series (times the result codes), so without a budget one device could create series until InfluxDB's
// max-series-per-database refuses every site's results. Beyond the budget a result is `rejected` with a
// reason that says so, and the device is flagged (device-flags.ts). See docs/security.md (case 3).
import type { Store } from '../store/store.ts';

/** Default distinct targets per probe per device (SONGCHECK_MAX_TARGETS_PER_PROBE); an agent's config allows 20. */
export const DEFAULT_MAX_TARGETS_PER_PROBE = 32;
/** Devices whose known targets are kept in memory; beyond it the least recently seen is read again from SQLite. */
const CACHED_DEVICES = 5000;

export type Admission = { ok: true } | { ok: false; known: number };

export class SeriesBudget {
  /** device → probe → targets already admitted (all of them, since a device's targets only grow). */
  private readonly known = new Map<string, Map<string, Set<string>>>();
  /** Results refused by the budget since start (this process). */
  refused = 0;

  constructor(
    private readonly store: Store,
    readonly limit: number,
    private readonly now: () => number,
  ) {}

  private targetsOf(deviceId: string): Map<string, Set<string>> {
    let byProbe = this.known.get(deviceId);
    if (byProbe) {
      // Most recently used last, so the first key is the one to evict.
      this.known.delete(deviceId);
      this.known.set(deviceId, byProbe);
      return byProbe;
    }
    byProbe = new Map();
    for (const row of this.store.sql('SELECT probe, target FROM device_targets WHERE device_id = ?').all(deviceId) as { probe: string; target: string }[]) {
      let set = byProbe.get(row.probe);
      if (!set) byProbe.set(row.probe, (set = new Set()));
      set.add(row.target);
    }
    if (this.known.size >= CACHED_DEVICES) this.known.delete(this.known.keys().next().value!);
    this.known.set(deviceId, byProbe);
    return byProbe;
  }

  /** Whether `target` fits the device's budget for `probe`; a new target that fits is recorded at once. */
  admit(deviceId: string, probe: string, target: string): Admission {
    const byProbe = this.targetsOf(deviceId);
    let set = byProbe.get(probe);
    if (set?.has(target)) return { ok: true };
    if (!set) byProbe.set(probe, (set = new Set()));
    if (set.size >= this.limit) {
      this.refused++;
      return { ok: false, known: set.size };
    }
    // Another collector process may have admitted targets meanwhile: SQLite's count decides.
    const admitted = this.store.transaction(() => {
      const n = (this.store.sql('SELECT COUNT(*) AS n FROM device_targets WHERE device_id = ? AND probe = ?').get(deviceId, probe) as { n: number }).n;
      if (n >= this.limit) return false;
      this.store.sql('INSERT OR IGNORE INTO device_targets (device_id, probe, target, first_at) VALUES (?, ?, ?, ?)').run(deviceId, probe, target, this.now());
      return true;
    });
    if (!admitted) {
      this.refused++;
      this.known.delete(deviceId);
      return { ok: false, known: this.limit };
    }
    set.add(target);
    return { ok: true };
  }
}
