// The ingest guards of POST /measurements, built once per app over the collector's store: the dead-letter
// store, the per-device series budget and its flags, the site tag versions and the clock corrections.
// Figures for /healthz come from here. See docs/security.md#a-hostile-enrolled-device-issue-14.
import type { Logger } from 'pino';
import type { InfluxWriter } from '../influx/writer.ts';
import type { Store } from '../store/store.ts';
import { ClockCorrections, MAX_FUTURE_MS } from './clock.ts';
import { DeadLetters } from './dead-letters.ts';
import { DeviceFlags } from './device-flags.ts';
import { DEFAULT_MAX_TARGETS_PER_PROBE, SeriesBudget } from './series-budget.ts';
import { SiteTagVersions } from './site-versions.ts';

export interface GuardOptions {
  /** Distinct targets per probe per device (SONGCHECK_MAX_TARGETS_PER_PROBE). */
  maxTargetsPerProbe?: number;
}

export interface GuardHealth {
  deadLetters: { total: number; byKind: Record<string, number> };
  seriesBudget: { maxTargetsPerProbe: number; refusedSinceStart: number; flaggedDevices: number };
  clock: { correctedSinceStart: number; maxFutureMs: number };
}

export class IngestGuards {
  readonly deadLetters: DeadLetters;
  readonly budget: SeriesBudget;
  readonly flags: DeviceFlags;
  readonly siteVersions: SiteTagVersions;
  readonly clock: ClockCorrections;

  constructor(store: Store, writer: Pick<InfluxWriter, 'write'>, now: () => number, logger?: Logger, options: GuardOptions = {}) {
    this.deadLetters = new DeadLetters(store, now);
    this.budget = new SeriesBudget(store, options.maxTargetsPerProbe ?? DEFAULT_MAX_TARGETS_PER_PROBE, now);
    this.flags = new DeviceFlags(store, writer, now, logger);
    this.siteVersions = new SiteTagVersions(store, MAX_FUTURE_MS);
    this.clock = new ClockCorrections(store);
  }

  health(): GuardHealth {
    return {
      deadLetters: this.deadLetters.counts(),
      seriesBudget: { maxTargetsPerProbe: this.budget.limit, refusedSinceStart: this.budget.refused, flaggedDevices: this.flags.count() },
      clock: { correctedSinceStart: this.clock.corrected, maxFutureMs: MAX_FUTURE_MS },
    };
  }
}
