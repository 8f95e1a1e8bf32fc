// The test server's side of the story: while throughput tests run, this process samples its own state
// (machine CPU, its own CPU, event-loop delay, tests running in all processes) and, when a test ends,
// stores a summary of that window keyed by device, direction and time. When the agent's result for that
// test arrives (often minutes later, maybe from another process) ingest adds the summary to the stored
// point (server_* fields), so "your test server was the bottleneck" is answered from the data.
// docs/throughput.md "The server's state during a test".
import os from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface StateSample {
  at: number;
  /** Busy share of all the machine's cores, %. */
  cpuPct: number;
  /** This process's CPU time over wall time, % of one core. */
  processCpuPct: number;
  /** Event-loop delay of this process over the sample interval, ms. */
  eldP99Ms: number;
  eldMaxMs: number;
  /** Throughput tests running in all collector processes (shared store). */
  running: number;
}

/** What one test's window looked like from the server. */
export interface TestServerState {
  concurrentMax: number;
  cpuMeanPct: number;
  cpuMaxPct: number;
  processCpuMaxPct: number;
  eldP99Ms: number;
  /** The server could not serve the test at full rate: see SERVER_LIMITS. */
  limited: boolean;
  /** Which limit, when limited: event_loop, cpu or concurrency (the first reached, in that order). */
  limitedBy?: 'cpu' | 'event_loop' | 'concurrency';
}

/**
 * When a test counts as served below full rate (documented in docs/throughput.md):
 * - the event loop's 99th-percentile delay over any sample was ≥ 50 ms (a 20 Mbit/s stream moves 125 kB in
 *   50 ms: a pause that long empties the socket buffer and the link idles);
 * - the machine's CPU averaged ≥ 90 % over the test (the sender or receiver waits for a core);
 * - the tests running at once reached the configured maximum (the server was full).
 */
export const SERVER_LIMITS = { cpuMeanPct: 90, eldP99Ms: 50 };

export function summarizeWindow(samples: StateSample[], maxConcurrent: number): TestServerState | undefined {
  if (samples.length === 0) return undefined;
  let cpuSum = 0;
  let cpuMax = 0;
  let procMax = 0;
  let eld = 0;
  let conc = 0;
  for (const s of samples) {
    cpuSum += s.cpuPct;
    cpuMax = Math.max(cpuMax, s.cpuPct);
    procMax = Math.max(procMax, s.processCpuPct);
    eld = Math.max(eld, s.eldP99Ms);
    conc = Math.max(conc, s.running);
  }
  const cpuMean = cpuSum / samples.length;
  // The process's own stall is the most direct evidence, so it is named first.
  const limitedBy = eld >= SERVER_LIMITS.eldP99Ms ? 'event_loop' : cpuMean >= SERVER_LIMITS.cpuMeanPct ? 'cpu' : conc >= maxConcurrent ? 'concurrency' : undefined;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return { concurrentMax: conc, cpuMeanPct: r1(cpuMean), cpuMaxPct: r1(cpuMax), processCpuMaxPct: r1(procMax), eldP99Ms: r1(eld), limited: limitedBy !== undefined, ...(limitedBy ? { limitedBy } : {}) };
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

/**
 * Samples while at least one test of this process is open (and stops when none is: an idle collector pays
 * nothing). Keeps the last few minutes of samples; a test's window is read when it ends.
 */
export class ServerStateSampler {
  private samples: StateSample[] = [];
  private open = 0;
  private timer: NodeJS.Timeout | undefined;
  private histogram: IntervalHistogram | undefined;
  private lastCpu = cpuTimes();
  private lastProc = process.cpuUsage();
  private lastAt = performance.now();

  constructor(
    private readonly running: () => number,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = 500,
    private readonly keepMs = 5 * 60_000,
  ) {}

  /** A test started in this process; returns the function to call when it ends (gives its window). */
  begin(maxConcurrent: number): () => TestServerState | undefined {
    const startedAt = this.now();
    if (this.open++ === 0) this.startSampling();
    let ended = false;
    return () => {
      if (ended) return undefined;
      ended = true;
      this.sample();
      const endedAt = this.now();
      if (--this.open === 0) this.stopSampling();
      return summarizeWindow(this.samples.filter((s) => s.at >= startedAt && s.at <= endedAt), maxConcurrent);
    };
  }

  private startSampling(): void {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.lastCpu = cpuTimes();
    this.lastProc = process.cpuUsage();
    this.lastAt = performance.now();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  private stopSampling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }

  private sample(): void {
    const h = this.histogram;
    if (!h) return;
    const cpu = cpuTimes();
    const proc = process.cpuUsage();
    const t = performance.now();
    const wallMs = Math.max(1, t - this.lastAt);
    const total = cpu.total - this.lastCpu.total;
    const s: StateSample = {
      at: this.now(),
      cpuPct: total > 0 ? ((cpu.busy - this.lastCpu.busy) * 100) / total : 0,
      processCpuPct: ((proc.user - this.lastProc.user + proc.system - this.lastProc.system) / 1000 / wallMs) * 100,
      // The histogram counts in ns; its floor is the resolution (10 ms), which is subtracted as Node's docs advise.
      eldP99Ms: h.count > 0 ? Math.max(0, h.percentile(99) / 1e6 - 10) : 0,
      eldMaxMs: h.count > 0 ? Math.max(0, h.max / 1e6 - 10) : 0,
      running: this.running(),
    };
    h.reset();
    this.lastCpu = cpu;
    this.lastProc = proc;
    this.lastAt = t;
    this.samples.push(s);
    const cutoff = s.at - this.keepMs;
    while (this.samples.length > 0 && this.samples[0]!.at < cutoff) this.samples.shift();
  }
}
