import type { ProbeName, Result } from '../../protocol/results.ts';

export interface ProbeRunContext {
  /** Aborted when the scheduler's per-run timeout expires or the agent stops; a probe returns promptly then. */
  signal: AbortSignal;
  /** Wall clock in epoch ms; injectable so tests can pin measuredAt. */
  now(): number;
  /** The collector's base URL (it arbitrates throughput tests between the devices of a site). */
  collectorUrl?: string;
  /** The enrolled agent's device token, for probes that test against the collector (throughput). */
  deviceToken?: string;
  /** The agent's data directory, for probes that keep state on disk (the throughput data budget). */
  dataDir?: string;
  /** Progress of a long probe, for people watching (`measure throughput` on a terminal). */
  progress?(line: string): void;
  /** What the probe's plan knows about this run (ProbeGate.runContext); absent for runs a person asked for. */
  slot?: RunSlot;
}

/** A planned run: a drawn slot, a retry of a test postponed on a busy line, or a confirmation of a bad one. */
export interface RunSlot {
  kind: 'scheduled' | 'retry' | 'confirmation';
  /** How many times this test was postponed already. */
  postponed: number;
  /** No retry is left (the limit, or the end of the school day): a busy line is tested anyway and flagged. */
  lastTry: boolean;
  /** A confirmation: the id of the result it confirms. */
  confirms?: string;
  /** A confirmation: the rate (Mbit/s) the confirmed test read. */
  confirmsMbps?: number;
}

export interface DefaultTargetContext {
  /** The collector's base URL from the agent identity (e.g. https://songcheck.laocai.edu.vn). */
  collectorUrl?: string;
}

export interface ObserveContext {
  dataDir: string;
  collectorUrl?: string;
}

export interface GateContext {
  now(): number;
  /** The agent's data directory, where a plan may keep what must survive a restart. */
  dataDir?: string;
}

/**
 * Asked by the agent at each tick of the probe's cron, before a scheduled run: false skips that tick without
 * a result. A probe with its own plan inside the cron (throughput: a few random moments of school hours)
 * says yes only at those moments. Refusals that are themselves a finding (data budget spent, another device
 * of the site testing) are not a gate's business: the run reports them as a result.
 */
export interface ProbeGate {
  due(): boolean;
  /** What the plan knows about the run due() just allowed; passed to the probe as ctx.slot. */
  runContext?(): RunSlot | undefined;
  /** The run's results, so the plan can follow up: retry a test postponed on a busy line, confirm a bad one. */
  after?(results: Result[]): void;
}

/**
 * One kind of measurement. Like a Telegraf input: it measures and returns a result; a failure is a result
 * with a code (timeout, refused, dns_error, ...), never a thrown error, and it never decides up or down.
 * Its options schema is not here: it is in protocol/probe-options/ (the configuration half of the
 * registration), so validating a configuration never loads the code that measures.
 */
export interface Probe<Options = unknown> {
  name: ProbeName;
  description: string;
  /** Targets used when the config names none. */
  defaultTargets(ctx: DefaultTargetContext): string[];
  /** Measures one target once. Resolves with a result whatever happens; never rejects. */
  run(target: string, options: Options, ctx: ProbeRunContext): Promise<Result>;
  /** For probes that make several results per run (throughput: one per direction); run() is then the first. */
  runMany?(target: string, options: Options, ctx: ProbeRunContext): Promise<Result[]>;
  /**
   * Sees every result the agent queues, from any probe: for a probe that learns from others' results
   * (throughput keeps its idle-RTT baseline from the tcp runs to the collector). Must not throw or block.
   */
  observe?(result: Result, ctx: ObserveContext): void;
  /** For probes that run on their own plan within their cron (see ProbeGate); absent: every tick runs. */
  gate?(options: Options, ctx: GateContext): ProbeGate;
}
