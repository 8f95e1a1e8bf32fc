// Figures of the throughput service for GET /healthz. `running` comes from the shared store (all collector
// processes); the counters are this process's since it started.
import type { ThroughputStore } from './store.ts';

export interface FamilyCounters {
  queued: number;
  refused: number;
  completed: number;
  failed: number;
}

export interface ThroughputHealth {
  ndt7: FamilyCounters & { running: number; maxConcurrent: number };
  http: FamilyCounters & { running: number; maxConcurrent: number };
}

export class ThroughputStats {
  readonly ndt7: FamilyCounters = { queued: 0, refused: 0, completed: 0, failed: 0 };
  readonly http: FamilyCounters = { queued: 0, refused: 0, completed: 0, failed: 0 };

  constructor(
    private readonly store: ThroughputStore,
    private readonly limits: { ndt7: number; http: number },
  ) {}

  async health(): Promise<ThroughputHealth> {
    return {
      ndt7: { ...this.ndt7, running: await this.store.running('ndt7'), maxConcurrent: this.limits.ndt7 },
      http: { ...this.http, running: await this.store.running('http'), maxConcurrent: this.limits.http },
    };
  }
}
