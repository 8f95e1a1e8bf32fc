// Accuracy on long paths against iperf3 on the same link in the same run (network lab, root, TUN delay line),
// and the delay line's own capacity and timing error (it must never be the bottleneck it measures through).
import type { Result } from '../protocol/results.ts';
import { createLabStack, type LabStack } from '../test/lab/lab-stack.ts';

type Throughput = Extract<Result, { probe: 'throughput' }>;

export const LONG_PATHS = [
  { rttMs: 50, downMbit: 40, upMbit: 10 },
  { rttMs: 150, downMbit: 40, upMbit: 10 },
  { rttMs: 300, downMbit: 20, upMbit: 5 },
  { rttMs: 600, downMbit: 10, upMbit: 2 },
  { rttMs: 600, downMbit: 20, upMbit: 5 },
];

export interface LongPathRow {
  path: (typeof LONG_PATHS)[number];
  iperf3: { down: number; up: number };
  ndt7: { down: number; up: number; idleRtt: number };
  http: { down: number; up: number; idleRtt: number };
  delayLine: { lateMeanUs: number; lateMaxUs: number; dropped: number };
}

export interface LongPathReport {
  rows: LongPathRow[];
  /** iperf3 unshaped: straight over the veth pair, and through the delay line at 0 ms, Mbit/s. */
  capacity: { veth: number; delayLine: number; realtime: boolean };
}

async function measure(stack: LabStack, method: 'ndt7' | 'http') {
  const t = (await stack.measure(method)).results.filter((r): r is Throughput => r.probe === 'throughput');
  const get = (d: string) => t.find((r) => r.direction === d);
  return { down: get('download')?.fields.mbps ?? 0, up: get('upload')?.fields.mbps ?? 0, idleRtt: get('download')?.fields.idle_rtt_ms ?? 0 };
}

export async function benchThroughputLongPath(): Promise<LongPathReport> {
  const stack = await createLabStack();
  try {
    // Capacity: no shaping at all (no qdisc but the default), then the delay line at 0 ms.
    const veth = await stack.iperf3('download', 3);
    await stack.lab.setDelay({ rttMs: 0 });
    const delayLine = await stack.iperf3('download', 3);
    const realtime = (await stack.lab.delayStats())!.realtime;
    const rows: LongPathRow[] = [];
    for (const path of LONG_PATHS) {
      // Deep queues, as cell buffers are (see test/long-path-lab.test.ts).
      await stack.lab.shape({ downMbit: path.downMbit, upMbit: path.upMbit, queueMs: Math.max(50, path.rttMs) });
      await stack.lab.setDelay({ rttMs: path.rttMs });
      await stack.lab.delayStats(); // resets the timing counters
      const omit = Math.max(1, Math.ceil((path.rttMs / 1000) * 8));
      const iperf3 = { down: await stack.iperf3('download', 6, omit), up: await stack.iperf3('upload', 6, omit) };
      const ndt7 = await measure(stack, 'ndt7');
      const http = await measure(stack, 'http');
      const s = (await stack.lab.delayStats())!;
      rows.push({ path, iperf3, ndt7, http, delayLine: { lateMeanUs: s.lateMeanUs, lateMaxUs: s.lateMaxUs, dropped: s.dropped.serverToClient + s.dropped.clientToServer } });
    }
    return { rows, capacity: { veth, delayLine, realtime } };
  } finally {
    await stack.destroy();
  }
}

const r2 = (x: number) => x.toFixed(2);

export function longPathReport(r: LongPathReport): string {
  const ratios = r.rows.flatMap((x) => [x.ndt7.down / x.iperf3.down, x.ndt7.up / x.iperf3.up, x.http.down / x.iperf3.down, x.http.up / x.iperf3.up]);
  return [
    '## Throughput on long paths: ndt7 and http vs iperf3 (network lab, TUN delay line)',
    '',
    `The delay line (test/lab/delay-line.c) between the namespaces, tbf on its TUN devices with a queue of max(50 ms, RTT). Same link, same run: iperf3 (6 s after leaving out about eight round trips of slow start) is the reference; the agent's default adaptive test per method. Delay line capacity, unshaped: ${Math.round(r.capacity.delayLine)} Mbit/s through it at 0 ms (veth alone: ${Math.round(r.capacity.veth)} Mbit/s), ${r.capacity.realtime ? 'real-time priority' : 'NO real-time priority'}; late = how long after its due time a packet left the delay line.`,
    '',
    '| RTT ms | shaped down / up | iperf3 down / up | ndt7 / iperf3 (down, up) | http / iperf3 (down, up) | idle RTT seen (ndt7, http) ms | delay line late mean / max µs, drops |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map(
      (x) =>
        `| ${x.path.rttMs} | ${x.path.downMbit} / ${x.path.upMbit} | ${r2(x.iperf3.down)} / ${r2(x.iperf3.up)} | ${r2(x.ndt7.down / x.iperf3.down)}, ${r2(x.ndt7.up / x.iperf3.up)} | ${r2(x.http.down / x.iperf3.down)}, ${r2(x.http.up / x.iperf3.up)} | ${Math.round(x.ndt7.idleRtt)}, ${Math.round(x.http.idleRtt)} | ${x.delayLine.lateMeanUs} / ${x.delayLine.lateMaxUs}, ${x.delayLine.dropped} |`,
    ),
    '',
    `Goal: both methods within ±10 % of iperf3 at every RTT: ${ratios.every((x) => Math.abs(x - 1) <= 0.1) ? 'met' : 'NOT met'} (worst ${r2(ratios.reduce((a, b) => (Math.abs(b - 1) > Math.abs(a - 1) ? b : a), 1))}).`,
  ].join('\n');
}
