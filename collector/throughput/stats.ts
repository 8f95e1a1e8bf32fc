// Figures of the throughput service for GET /healthz. `running` comes from the shared store (all collector
// processes); the counters are this process's since it started.
import type { ThroughputLimits } from './admission.ts';
import type { ThroughputStore } from './store.ts';

export interface FamilyCounters {
  queued: number;
  refused: number;
  completed: number;
  failed: number;
}

/** The per-device budget and the transfer floor at work (issue 14, case 7): what they refused and dropped. */
export interface BudgetCounters {
  /** Refused because the device already held its slots (one test at a time per device). */
  refusedDeviceBusy: number;
  /** Refused because the device opened test connections faster than attemptsPerMinute (after attemptBurst). */
  refusedTooManyAttempts: number;
  /** Refused because another device of the same site held the site's lease. */
  refusedSiteBusy: number;
  /** Connections dropped for moving no byte for idleTimeoutMs. */
  droppedIdle: number;
  /** Connections dropped for moving less than minBytesPerSecond over a window. */
  droppedTooSlow: number;
}

export interface ThroughputHealth {
  ndt7: FamilyCounters & { running: number; maxConcurrent: number };
  http: FamilyCounters & { running: number; maxConcurrent: number };
  budget: BudgetCounters & { httpStreamsPerDevice: number; attemptBurst: number; attemptsPerMinute: number; minBytesPerSecond: number; rateWindowMs: number; idleTimeoutMs: number };
}

export class ThroughputStats {
  readonly ndt7: FamilyCounters = { queued: 0, refused: 0, completed: 0, failed: 0 };
  readonly http: FamilyCounters = { queued: 0, refused: 0, completed: 0, failed: 0 };
  readonly budget: BudgetCounters = { refusedDeviceBusy: 0, refusedTooManyAttempts: 0, refusedSiteBusy: 0, droppedIdle: 0, droppedTooSlow: 0 };

  constructor(
    private readonly store: ThroughputStore,
    private readonly limits: Pick<ThroughputLimits, 'ndt7MaxConcurrent' | 'httpMaxStreams' | 'httpStreamsPerDevice' | 'attemptBurst' | 'attemptsPerMinute' | 'minBytesPerSecond' | 'rateWindowMs' | 'idleTimeoutMs'>,
  ) {}

  async health(): Promise<ThroughputHealth> {
    const { httpStreamsPerDevice, attemptBurst, attemptsPerMinute, minBytesPerSecond, rateWindowMs, idleTimeoutMs } = this.limits;
    return {
      ndt7: { ...this.ndt7, running: await this.store.running('ndt7'), maxConcurrent: this.limits.ndt7MaxConcurrent },
      http: { ...this.http, running: await this.store.running('http'), maxConcurrent: this.limits.httpMaxStreams },
      budget: { ...this.budget, httpStreamsPerDevice, attemptBurst, attemptsPerMinute, minBytesPerSecond, rateWindowMs, idleTimeoutMs },
    };
  }
}
