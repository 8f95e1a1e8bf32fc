// Data used per test: the agent's adaptive ndt7 test against a fixed 10-second ndt7 test (the M-Lab way)
// on the same shaped link in the same run, with the accuracy of each against the shaped rate.
import type { Result } from '../protocol/results.ts';
import { createLabStack } from '../test/lab/lab-stack.ts';

type Throughput = Extract<Result, { probe: 'throughput' }>;

export interface DataRow {
  downMbit: number;
  upMbit: number;
  adaptive: { bytes: number; down: number; up: number };
  fixed: { bytes: number; down: number; up: number };
}

export const DATA_RATES = [
  { downMbit: 5, upMbit: 2 },
  { downMbit: 20, upMbit: 5 },
  { downMbit: 50, upMbit: 10 },
];

function summary(results: Result[]): { bytes: number; down: number; up: number } {
  const t = results.filter((r): r is Throughput => r.probe === 'throughput');
  const get = (d: string) => t.find((r) => r.direction === d)!;
  return { bytes: t.reduce((n, r) => n + r.fields.budget_bytes, 0), down: get('download').fields.mbps ?? 0, up: get('upload').fields.mbps ?? 0 };
}

export async function benchThroughputData(): Promise<DataRow[]> {
  const stack = await createLabStack();
  const rows: DataRow[] = [];
  try {
    for (const rate of DATA_RATES) {
      await stack.lab.shape(rate);
      // The adaptive stop alone: boost handling's cost (a learning test now and then) is the throughput-boost section's.
      const adaptive = summary((await stack.measure('ndt7', 'boost: { enabled: false }')).results);
      // Fixed: the whole 10 s, no early stop, the cap out of the way (what an M-Lab ndt7 client moves).
      const fixed = summary((await stack.measure('ndt7', 'adaptive: false, boost: { enabled: false }, budget: { monthlyMegabytes: 100000, pauseBelowMegabytes: 0, perTestMaxMegabytes: 1000 }')).results);
      rows.push({ ...rate, adaptive, fixed });
    }
  } finally {
    await stack.destroy();
  }
  return rows;
}

const mb = (b: number) => Math.round(b / 1e5) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function dataReport(rows: DataRow[]): string {
  const ratios = rows.map((r) => r.adaptive.bytes / r.fixed.bytes);
  return [
    '## Throughput data: adaptive test vs a fixed 10-second ndt7 test (network lab)',
    '',
    'Same lab and link as above; per row, one adaptive ndt7 test (download + upload, early stop once stable) and one fixed 10 s ndt7 test. Bytes are what the data budget is charged: socket bytes both ways + 5 % for TCP/IP headers.',
    '',
    '| shaped down / up (Mbit/s) | adaptive MB | fixed 10 s MB | **adaptive / fixed** | adaptive down / up vs shaped | fixed down / up vs shaped |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.downMbit} / ${r.upMbit} | ${mb(r.adaptive.bytes)} | ${mb(r.fixed.bytes)} | **${r3(r.adaptive.bytes / r.fixed.bytes)}** | ${r3(r.adaptive.down / r.downMbit)} / ${r3(r.adaptive.up / r.upMbit)} | ${r3(r.fixed.down / r.downMbit)} / ${r3(r.fixed.up / r.upMbit)} |`,
    ),
    '',
    `Goal: at most half the bytes of the fixed test at the same accuracy: ${ratios.every((x) => x <= 0.5) ? 'met' : 'NOT met'} (ratios ${ratios.map(r3).join(', ')}).`,
  ].join('\n');
}
