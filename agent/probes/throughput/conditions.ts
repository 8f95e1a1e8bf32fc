// The conditions a throughput test ran in, measured around it: was the line busy before (postpone, or test
// and flag), what else crossed this computer's interface during each direction, and was the school's own
// network (Wi-Fi, cable to the router) the likely bottleneck. Kept out of index.ts so that the test itself
// (transfer, estimator, budget) reads on its own. docs/throughput.md "Busy line", "The school's own network".
import type { ThroughputOptions } from '../../../protocol/probe-options/throughput.ts';
import type { ThroughputFields } from '../../../protocol/results.ts';
import { lanVerdictForThroughput } from '../lan/attribution.ts';
import { handshakeSampler } from '../lan/handshake.ts';
import { type LanObservation, observeLan } from '../lan/observation.ts';
import { latencyStats } from '../latency-stats.ts';
import type { RunSlot } from '../types.ts';
import { busyVerdict, type BusyVerdict, type CounterReader, crossTrafficMbps, isCrossTraffic, rateMbps, readCounters, RttBaseline } from './busy-line.ts';
import { idleRtts, type LatencyTarget } from './loaded-latency.ts';

export interface TestConditions {
  /** The idle RTT to the server (median of the pre-test connects). */
  idleRttMs?: number;
  busy?: BusyVerdict;
  /** Busy, and the plan has another try left: the test is not run now. */
  postpone: boolean;
  lan?: LanObservation;
  /** Fields every direction's result carries. */
  fields: Partial<ThroughputFields>;
}

export interface ConditionDeps {
  options: ThroughputOptions;
  latency?: LatencyTarget | undefined;
  dataDir?: string | undefined;
  slot?: RunSlot | undefined;
  signal: AbortSignal;
  now: () => number;
  counters?: CounterReader;
}

const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Before the first direction: the idle RTT, the interface counters over watchSeconds, the baseline, the router. */
export async function beforeTest(d: ConditionDeps): Promise<TestConditions> {
  const { options, signal } = d;
  const b = options.busyLine;
  const counters = d.counters ?? readCounters;
  const started = performance.now();
  const c0 = b.enabled ? await counters() : undefined;
  const rtts = d.latency ? await idleRtts(d.latency, 5, signal) : [];
  const idleRttMs = latencyStats(rtts).rtt_median_ms;
  let busy: BusyVerdict | undefined;
  let ifaceMbps: number | undefined;
  const baseline = b.enabled && d.dataDir ? new RttBaseline(d.dataDir) : undefined;
  if (b.enabled) {
    await wait(b.watchSeconds * 1000 - (performance.now() - started), signal);
    ifaceMbps = rateMbps(c0, await counters());
    busy = busyVerdict({ idleRttMs, baselineMs: baseline?.value(), ifaceMbps }, b);
    // Only a quiet line teaches the baseline what idle looks like.
    if (!busy.busy) baseline?.add(d.now(), rtts.filter((r): r is number => r !== null));
  }
  // A busy line postpones a test; the last try of a scheduled one runs anyway, flagged (a cell congested all day
  // still gets tests). A confirmation never runs on a busy line: flagged, it could confirm nothing (the alert and
  // the verdicts leave it out) and would only spend the budget; its last try is given up.
  const postpone = busy?.busy === true && d.slot !== undefined && (!d.slot.lastTry || d.slot.kind === 'confirmation');
  const seen = options.lanAttribution && !postpone ? await observeLan(signal, { count: 5, intervalMs: 100, timeoutMs: 1000, now: d.now }) : undefined;
  // When the test server is the gateway itself (a server on the school's LAN, the lab), there is no LAN to blame.
  const lan = seen && seen.link.gateway !== d.latency?.address ? seen : undefined;
  const l = lan?.link;
  const fields: Partial<ThroughputFields> = {
    ...(busy?.inflationMs !== undefined ? { busy_rtt_inflation_ms: busy.inflationMs } : {}),
    ...(ifaceMbps !== undefined ? { busy_iface_mbps: ifaceMbps } : {}),
    ...(busy?.busy ? { busy: true } : {}),
    ...(d.slot && d.slot.postponed > 0 ? { postponed: d.slot.postponed } : {}),
    ...(d.slot?.confirms ? { confirmation_of: d.slot.confirms } : {}),
    ...(d.slot?.confirmsMbps !== undefined ? { confirmation_of_mbps: d.slot.confirmsMbps } : {}),
    ...(l ? { lan_medium: l.medium } : {}),
    ...(l?.linkMbps !== undefined ? { lan_link_mbps: l.linkMbps } : {}),
    ...(l?.wifiSignalDbm !== undefined ? { lan_wifi_signal_dbm: l.wifiSignalDbm } : {}),
    ...(lan?.idle.rtt_median_ms !== undefined ? { gateway_rtt_ms: lan.idle.rtt_median_ms } : {}),
  };
  return { ...(idleRttMs !== undefined ? { idleRttMs } : {}), ...(busy ? { busy } : {}), postpone, ...(lan ? { lan } : {}), fields };
}

/** One sentence for a postponed result's detail. */
export function postponeDetail(c: TestConditions, options: ThroughputOptions, slot: RunSlot): string {
  const why = `line busy (${c.busy?.reasons.join('; ')})`;
  if (slot.lastTry) return `${why}: confirmation given up (a confirmation on a busy line could not count), try ${slot.postponed + 1}`;
  return `${why}: postponed ${options.busyLine.postponeMinutes} min, try ${slot.postponed + 1} of ${options.busyLine.maxPostpones + 1}`;
}

export interface DirectionFacts {
  direction: 'download' | 'upload';
  socketBytes: number;
  mbps?: number | undefined;
  serverLoadedMs?: number | undefined;
}

/** Around one direction: interface counters and the router's loaded RTT; finish() gives the direction's fields. */
export async function watchDirection(c: TestConditions, d: Pick<ConditionDeps, 'options' | 'counters'>) {
  const counters = d.counters ?? readCounters;
  const start = d.options.busyLine.enabled ? await counters() : undefined;
  const gw = c.lan && c.lan.port !== undefined ? handshakeSampler(c.lan.link.gateway, c.lan.port, d.options.latencyIntervalMs) : undefined;
  return {
    /** Loaded samples count from the end of the warm-up (performance.now()). */
    startAt(t: number): void {
      gw?.startAt(t);
    },
    async finish(f: DirectionFacts): Promise<Partial<ThroughputFields>> {
      const loaded = gw ? await gw.finish() : undefined;
      const end = start ? await counters() : undefined;
      const out: Partial<ThroughputFields> = {};
      if (start && end && end.bytes >= start.bytes && end.at > start.at) {
        const cross = crossTrafficMbps(end.bytes - start.bytes, f.socketBytes, end.at - start.at);
        out.cross_traffic_mbps = cross;
        if (isCrossTraffic(cross, f.mbps, d.options.busyLine)) out.cross_traffic = true;
      }
      // A line found busy before and tested anyway (the last try, or a person asked) ran with cross traffic.
      if (c.busy?.busy) out.cross_traffic = true;
      if (loaded?.rtt_median_ms !== undefined) out.gateway_loaded_rtt_ms = loaded.rtt_median_ms;
      const v = lanVerdictForThroughput({
        link: c.lan?.link,
        direction: f.direction,
        mbps: f.mbps,
        gatewayIdleMs: c.lan?.idle.rtt_median_ms,
        gatewayLoadedMs: loaded?.rtt_median_ms,
        serverIdleMs: c.idleRttMs,
        serverLoadedMs: f.serverLoadedMs,
      });
      if (v.bottleneck) {
        out.lan_bottleneck = true;
        out.lan_reason = v.reason!.slice(0, 300);
      }
      return out;
    },
  };
}
