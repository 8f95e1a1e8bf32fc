// Throughput accuracy on the network lab: for each shaped rate, iperf3 (the reference) and the agent's two
// methods on the same link in the same run, as ratios to iperf3 and to the shaped rate. Needs root.
import type { Result } from '../protocol/results.ts';
import { createLabStack } from '../test/lab/lab-stack.ts';

type Throughput = Extract<Result, { probe: 'throughput' }>;

export interface AccuracyRow {
  downMbit: number;
  upMbit: number;
  direction: 'download' | 'upload';
  iperf3: number;
  ndt7: number;
  http: number;
  ndt7Seconds: number;
  httpSeconds: number;
}

export const ACCURACY_RATES = [
  { downMbit: 2, upMbit: 1 },
  { downMbit: 8, upMbit: 2 },
  { downMbit: 20, upMbit: 5 },
  { downMbit: 50, upMbit: 10 },
];

function pick(results: Result[], direction: string): Throughput {
  const r = results.find((x): x is Throughput => x.probe === 'throughput' && x.direction === direction);
  if (!r || r.fields.mbps === undefined) throw new Error(`no ${direction} figure: ${JSON.stringify(results)}`);
  return r;
}

export async function benchThroughputAccuracy(): Promise<AccuracyRow[]> {
  const stack = await createLabStack();
  const rows: AccuracyRow[] = [];
  try {
    for (const rate of ACCURACY_RATES) {
      await stack.lab.shape(rate);
      const ndt7 = (await stack.measure('ndt7')).results;
      const http = (await stack.measure('http')).results;
      for (const direction of ['download', 'upload'] as const) {
        rows.push({
          ...rate,
          direction,
          iperf3: await stack.iperf3(direction, 5),
          ndt7: pick(ndt7, direction).fields.mbps!,
          http: pick(http, direction).fields.mbps!,
          ndt7Seconds: pick(ndt7, direction).fields.duration_ms / 1000,
          httpSeconds: pick(http, direction).fields.duration_ms / 1000,
        });
      }
    }
  } finally {
    await stack.destroy();
  }
  return rows;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function accuracyReport(rows: AccuracyRow[]): string {
  const within = (x: number) => Math.abs(x - 1) <= 0.05;
  const ratios = rows.flatMap((r) => [r.ndt7 / r.iperf3, r.http / r.iperf3]);
  return [
    '## Throughput accuracy: agent vs iperf3 and the shaped rate (network lab)',
    '',
    'Two network namespaces joined by a veth pair, each direction shaped with `tc tbf` (burst 10 ms, queue 50 ms) on its sender; no added delay (netem is not available). Per row, in the same run on the same link: iperf3 (`-t 5 -O 1`, received rate), then `songcheck-agent measure throughput` with each method (adaptive stop, 1 s warm-up). Goodput sits about 4 % under the shaped rate: tbf counts Ethernet, IP and TCP headers (1514-byte frames for 1448 bytes of payload).',
    '',
    '| shaped (Mbit/s) | direction | iperf3 | ndt7 | http (4 streams) | ndt7 / iperf3 | http / iperf3 | ndt7 / shaped | http / shaped | test length ndt7 / http (s) |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const shaped = r.direction === 'download' ? r.downMbit : r.upMbit;
      return `| ${shaped} | ${r.direction} | ${r2(r.iperf3)} | ${r2(r.ndt7)} | ${r2(r.http)} | **${r3(r.ndt7 / r.iperf3)}** | **${r3(r.http / r.iperf3)}** | ${r3(r.ndt7 / shaped)} | ${r3(r.http / shaped)} | ${r2(r.ndt7Seconds)} / ${r2(r.httpSeconds)} |`;
    }),
    '',
    `Goal: within ±5 % of iperf3: ${ratios.every(within) ? 'met' : 'NOT met'} (${ratios.filter(within).length} of ${ratios.length} figures).`,
  ].join('\n');
}
