// Is the school using the line? Two signs, both without privileges or localised text:
//  - RTT inflation: the idle round trip to the test server now, against the site's recent idle baseline
//    (the 25th percentile of the last two weeks' idle round trips). Traffic from any computer of the school
//    fills the same 4G uplink queue, so this sees the other PCs too; it cannot tell the school's traffic from
//    a congested cell, which is why a test is postponed a few times and then run and flagged, not dropped.
//  - This computer's own interface counters, just before the test and during it, against the test's own bytes.
// Thresholds are options (protocol/probe-options/throughput.ts `busyLine`), documented in docs/throughput.md.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Result } from '../../../protocol/results.ts';
import { parseProcNetRoute } from '../../net/default-route.ts';
import { writeFileAtomic } from '../../platform/atomic-file.ts';
import { collectorEndpoint, formatHostPort } from '../target.ts';

export interface BusyThresholds {
  rttInflationMs: number;
  rttInflationPct: number;
  ifaceMbps: number;
}

export interface BusyEvidence {
  idleRttMs?: number | undefined;
  baselineMs?: number | undefined;
  ifaceMbps?: number | undefined;
}

export interface BusyVerdict {
  busy: boolean;
  inflationMs?: number;
  /** For the result's detail: "RTT 180 ms against a 40 ms baseline; this computer moved 6.2 Mbit/s". */
  reasons: string[];
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export function busyVerdict(e: BusyEvidence, t: BusyThresholds): BusyVerdict {
  const reasons: string[] = [];
  let inflationMs: number | undefined;
  if (e.idleRttMs !== undefined && e.baselineMs !== undefined) {
    inflationMs = r1(e.idleRttMs - e.baselineMs);
    if (inflationMs >= t.rttInflationMs && inflationMs >= (e.baselineMs * t.rttInflationPct) / 100) {
      reasons.push(`idle RTT ${r1(e.idleRttMs)} ms against the site's ${r1(e.baselineMs)} ms baseline`);
    }
  }
  if (e.ifaceMbps !== undefined && e.ifaceMbps >= t.ifaceMbps) reasons.push(`this computer moved ${r1(e.ifaceMbps)} Mbit/s just before`);
  return { busy: reasons.length > 0, ...(inflationMs !== undefined ? { inflationMs } : {}), reasons };
}

/** Traffic on this computer's interface beside the test: what the counters moved beyond the test's own socket bytes. */
export function crossTrafficMbps(ifaceBytes: number, testSocketBytes: number, durationMs: number): number {
  if (durationMs <= 0) return 0;
  // The test's own bytes plus 5 % for TCP/IP headers and ACKs (the data budget's allowance).
  return r1((Math.max(0, ifaceBytes - testSocketBytes * 1.05) * 8) / (durationMs * 1000));
}

export function isCrossTraffic(crossMbps: number, testMbps: number | undefined, t: { crossMbps: number; crossPct: number }): boolean {
  return crossMbps >= t.crossMbps && (testMbps === undefined || crossMbps >= (testMbps * t.crossPct) / 100);
}

// --- interface counters ---

export interface Counters {
  at: number;
  bytes: number;
}

/** Bytes received + sent on the default route's interface since boot; undefined where the OS does not say. */
export type CounterReader = () => Promise<Counters | undefined>;

function linuxCounters(root = ''): Counters | undefined {
  try {
    const route = parseProcNetRoute(fs.readFileSync(`${root}/proc/net/route`, 'utf8'));
    if (!route) return undefined;
    const dir = `${root}/sys/class/net/${route.iface}/statistics`;
    const rx = Number(fs.readFileSync(`${dir}/rx_bytes`, 'utf8'));
    const tx = Number(fs.readFileSync(`${dir}/tx_bytes`, 'utf8'));
    return Number.isFinite(rx) && Number.isFinite(tx) ? { at: performance.now(), bytes: rx + tx } : undefined;
  } catch {
    return undefined;
  }
}

// Numbers only: the default route's adapter and its byte counters.
const WINDOWS_COUNTERS = `
$ErrorActionPreference = 'SilentlyContinue'
$r = Get-NetRoute -DestinationPrefix '0.0.0.0/0' | Sort-Object { $_.RouteMetric + $_.InterfaceMetric } | Select-Object -First 1
$a = Get-NetAdapter -InterfaceIndex $r.InterfaceIndex
$s = Get-NetAdapterStatistics -Name $a.Name
[pscustomobject]@{ rx = [double]$s.ReceivedBytes; tx = [double]$s.SentBytes } | ConvertTo-Json -Compress
`;

function windowsCounters(): Promise<Counters | undefined> {
  return new Promise((resolve) => {
    execFile('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', WINDOWS_COUNTERS], { timeout: 5_000, windowsHide: true }, (err, stdout) => {
      // The reading is taken when PowerShell answers; its start-up (about a second) is before the reading.
      const at = performance.now();
      if (err) return resolve(undefined);
      try {
        const o = JSON.parse(stdout) as { rx?: unknown; tx?: unknown };
        resolve(typeof o.rx === 'number' && typeof o.tx === 'number' ? { at, bytes: o.rx + o.tx } : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

export const readCounters: CounterReader = () => (process.platform === 'linux' ? Promise.resolve(linuxCounters()) : process.platform === 'win32' ? windowsCounters() : Promise.resolve(undefined));

export function rateMbps(a: Counters | undefined, b: Counters | undefined): number | undefined {
  if (!a || !b || b.at <= a.at || b.bytes < a.bytes) return undefined;
  return r1(((b.bytes - a.bytes) * 8) / ((b.at - a.at) * 1000));
}

// --- the site's idle baseline ---

const KEEP_MS = 14 * 86_400_000;
const MAX_SAMPLES = 500;
/** Fewer samples than this is no baseline: RTT inflation is not judged. */
export const BASELINE_MIN_SAMPLES = 5;

/**
 * Idle round trips to the test server over the last two weeks (`<data dir>/rtt-baseline.json`, replaced
 * atomically): the pre-test connects of tests on a quiet line and the agent's TCP-connect runs to the
 * collector. The baseline is their 25th percentile: nights and holidays dominate, so a busy school day does
 * not drag it up. A damaged file starts afresh (the baseline is a guide, not evidence).
 */
export class RttBaseline {
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'rtt-baseline.json');
  }

  // Read afresh each time: the running agent (TCP-connect runs) and each test add to the same file.
  private read(): [number, number][] {
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { samples?: unknown };
      if (!Array.isArray(parsed.samples)) return [];
      return parsed.samples.filter((s): s is [number, number] => Array.isArray(s) && typeof s[0] === 'number' && typeof s[1] === 'number' && s[1] >= 0);
    } catch {
      return [];
    }
  }

  add(at: number, rtts: number[]): void {
    const samples = this.read();
    for (const r of rtts) if (Number.isFinite(r) && r >= 0) samples.push([at, r]);
    try {
      writeFileAtomic(this.file, JSON.stringify({ samples: samples.filter(([t]) => t > at - KEEP_MS).slice(-MAX_SAMPLES) }));
    } catch {
      /* a read-only or full disk: no baseline, so RTT inflation is not judged */
    }
  }

  /** The 25th percentile (nearest rank) of the samples, or undefined with fewer than BASELINE_MIN_SAMPLES. */
  value(): number | undefined {
    const samples = this.read();
    if (samples.length < BASELINE_MIN_SAMPLES) return undefined;
    const sorted = samples.map(([, r]) => r).sort((a, b) => a - b);
    return sorted[Math.max(0, Math.ceil(sorted.length * 0.25) - 1)];
  }
}

/**
 * A TCP-connect run to the test server's own host and port teaches the baseline (not a run the LAN spoiled):
 * the probe's `observe`, which the agent calls for every queued result. The collector's host:port is the tcp
 * probe's default target.
 */
export function noteTcpRun(dataDir: string, result: Result, collectorUrl: string | undefined): void {
  if (result.probe !== 'tcp' || result.fields.lan_bottleneck) return;
  const c = collectorEndpoint(collectorUrl);
  if (!c || result.target !== formatHostPort(c.host, c.port)) return;
  const rtt = result.fields.rtt_median_ms;
  if (rtt !== undefined) new RttBaseline(dataDir).add(result.measuredAt, [rtt]);
}
