// The agent's clock (docs/control-channel.md#clocks): the device clock, corrected by the offset the
// control channel measures when the device clock is clearly wrong (a Raspberry Pi has no real-time
// clock and may boot in 1970 or last week). Every measurement time goes through now().
//
// Each heartbeat is an NTP-style exchange: t0 agent send, t1 collector receive, t2 collector send,
// t3 agent receive. offset = ((t1 - t0) + (t2 - t3)) / 2, rtt = (t3 - t0) - (t2 - t1). A sample taken
// through a congested 4G link is skewed by the asymmetry of its delay, so of the recent samples only
// the half with the lowest RTT counts, and their median is the estimate.
import { existsSync, readFileSync } from 'node:fs';
import { uptime } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../platform/atomic-file.ts';

export const CLOCK_FILE = 'clock.json';
/** Samples kept; at one heartbeat every 30 s that is the last 8 minutes. */
const MAX_SAMPLES = 16;
/** A device clock that moves against monotonic time by more than this was stepped (or the device slept). */
const JUMP_MS = 2_000;
/** Persisted at most this often unless the estimate moved by more than the threshold. */
const PERSIST_EVERY_MS = 10 * 60_000;

const Persisted = z.object({ offsetMs: z.number().finite(), rttMs: z.number().min(0), at: z.number(), bootAt: z.number() });

export interface ClockOptions {
  dataDir: string;
  /** Correct measurement times only when |offset| exceeds this (NTP keeps a healthy clock well inside it). */
  thresholdMs?: number;
  /** A change of the applied correction larger than this is reported as a clock_step event. */
  stepMs?: number;
  /** The device clock; tests inject a skewed one. */
  raw?: () => number;
  mono?: () => number;
  /** Seconds since boot (for telling whether a stored estimate is from this boot). */
  uptimeS?: () => number;
  onStep?: (step: { fromMs: number; toMs: number }) => void;
  onJump?: () => void;
}

export interface ClockSample {
  offsetMs: number;
  rttMs: number;
}

export class AgentClock {
  private readonly raw: () => number;
  private readonly mono: () => number;
  private readonly uptimeS: () => number;
  private readonly file: string;
  private readonly thresholdMs: number;
  private readonly stepMs: number;
  private samples: ClockSample[] = [];
  private estimate: ClockSample | undefined;
  private applied = 0;
  private baseline: number;
  private persistedAt = 0;
  private persistedOffset = 0;

  constructor(private readonly opts: ClockOptions) {
    this.raw = opts.raw ?? Date.now;
    this.mono = opts.mono ?? (() => performance.now());
    this.uptimeS = opts.uptimeS ?? uptime;
    this.file = join(opts.dataDir, CLOCK_FILE);
    this.thresholdMs = opts.thresholdMs ?? 2_000;
    this.stepMs = opts.stepMs ?? 5_000;
    this.baseline = this.raw() - this.mono();
    this.load();
  }

  /** The corrected time (epoch ms): what every measurement is stamped with. */
  now = (): number => {
    const raw = this.raw();
    const drift = raw - this.mono() - this.baseline;
    if (Math.abs(drift) > JUMP_MS) this.onJump(drift);
    return raw + this.applied;
  };

  /** Collector clock minus device clock, from the recent exchanges; undefined before the first. */
  get offsetMs(): number | undefined {
    return this.estimate?.offsetMs;
  }

  get corrected(): boolean {
    return this.applied !== 0;
  }

  /** The device clock itself (for the heartbeat timestamps, which must not be corrected). */
  deviceNow(): number {
    return this.raw();
  }

  /** Adds one exchange (all four times in ms; t0 and t3 from deviceNow()). */
  addExchange(t0: number, t1: number, t2: number, t3: number): ClockSample | undefined {
    const rttMs = t3 - t0 - (t2 - t1);
    if (!(rttMs >= 0) || t3 < t0) return undefined; // a reordered or mangled answer says nothing
    const sample = { offsetMs: (t1 - t0 + (t2 - t3)) / 2, rttMs };
    this.samples.push(sample);
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
    this.estimate = estimateOffset(this.samples);
    this.apply();
    this.persist();
    return sample;
  }

  healthFields(): { clock_offset_ms?: number; clock_corrected?: boolean } {
    if (!this.estimate) return {};
    return { clock_offset_ms: Math.round(this.estimate.offsetMs), clock_corrected: this.corrected };
  }

  private apply(): void {
    const est = this.estimate;
    let next = 0;
    // Hysteresis: once correcting, keep at it until the offset is well inside the threshold, so a
    // clock hovering at the threshold does not flip measurement times back and forth.
    if (est && (Math.abs(est.offsetMs) > this.thresholdMs || (this.applied !== 0 && Math.abs(est.offsetMs) > this.thresholdMs / 2))) next = Math.round(est.offsetMs);
    const from = this.applied;
    this.applied = next;
    if (Math.abs(next - from) > this.stepMs) this.opts.onStep?.({ fromMs: from, toMs: next });
  }

  /** The device clock was stepped (or the device slept): the samples describe the old clock. */
  private onJump(drift: number): void {
    this.baseline += drift;
    this.samples = [];
    this.estimate = undefined;
    const from = this.applied;
    this.applied = 0;
    if (Math.abs(from) > this.stepMs) this.opts.onStep?.({ fromMs: from, toMs: 0 });
    this.opts.onJump?.();
  }

  private bootAt(): number {
    return this.raw() - this.uptimeS() * 1000;
  }

  private persist(): void {
    const est = this.estimate;
    if (!est) return;
    const at = this.raw();
    if (at - this.persistedAt < PERSIST_EVERY_MS && Math.abs(est.offsetMs - this.persistedOffset) < this.thresholdMs) return;
    try {
      writeFileAtomic(this.file, JSON.stringify({ offsetMs: est.offsetMs, rttMs: est.rttMs, at, bootAt: this.bootAt() }));
      this.persistedAt = at;
      this.persistedOffset = est.offsetMs;
    } catch {
      // Only a head start for the next start-up; the running estimate is unaffected.
    }
  }

  /**
   * A stored estimate is used only if it was made during this boot with the clock not stepped since
   * (the boot time by the device clock is unchanged): after a reboot a Pi's clock is a different clock.
   */
  private load(): void {
    if (!existsSync(this.file)) return;
    try {
      const stored = Persisted.parse(JSON.parse(readFileSync(this.file, 'utf8')));
      if (Math.abs(stored.bootAt - this.bootAt()) > 5_000) return;
      this.estimate = { offsetMs: stored.offsetMs, rttMs: stored.rttMs };
      this.samples = [this.estimate];
      this.persistedAt = stored.at;
      this.persistedOffset = stored.offsetMs;
      this.apply();
    } catch {
      // A damaged file is ignored: the first heartbeat measures again.
    }
  }
}

/** Median offset of the lowest-RTT half of the samples (at least one). */
export function estimateOffset(samples: ClockSample[]): ClockSample | undefined {
  if (samples.length === 0) return undefined;
  const best = [...samples].sort((a, b) => a.rttMs - b.rttMs).slice(0, Math.max(1, Math.ceil(samples.length / 2)));
  const offsets = best.map((s) => s.offsetMs).sort((a, b) => a - b);
  const mid = offsets.length >> 1;
  const offsetMs = offsets.length % 2 ? offsets[mid]! : (offsets[mid - 1]! + offsets[mid]!) / 2;
  return { offsetMs, rttMs: best[0]!.rttMs };
}
