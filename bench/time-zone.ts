// Is the agent's fixed-offset time-zone table (protocol/time-zone.ts) still lighter than Intl? Each mode
// runs in a fresh `node --expose-gc`: `none` computes nothing (the reference), `fixed` one local time by
// Date arithmetic as the table does, `intl` one through Intl.DateTimeFormat with a time zone, which loads
// ICU's zone data. Reports resident memory after a GC and the first call's time, median of 5 runs each.
// Run: `npx tsx bench/time-zone.ts`.
import { execFileSync } from 'node:child_process';

const CHILD = `
const mode = process.argv[1];
const t0 = performance.now();
let out = mode;
if (mode === 'fixed') { const d = new Date(Date.now() + 420 * 60000); out = String(d.getUTCHours() + d.getUTCDay()); }
if (mode === 'intl') out = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Ho_Chi_Minh', hourCycle: 'h23', hour: 'numeric', weekday: 'short' }).format(Date.now());
const ms = performance.now() - t0;
globalThis.gc();
console.log(JSON.stringify({ rss: process.memoryUsage().rss, ms, out }));
`;

interface Sample {
  rss: number;
  ms: number;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function benchTimeZone(runs = 5): Record<'none' | 'fixed' | 'intl', { rssMb: number; firstCallMs: number }> {
  const out = {} as Record<'none' | 'fixed' | 'intl', { rssMb: number; firstCallMs: number }>;
  for (const mode of ['none', 'fixed', 'intl'] as const) {
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) samples.push(JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', CHILD, mode], { encoding: 'utf8' })) as Sample);
    out[mode] = { rssMb: +(median(samples.map((s) => s.rss)) / 2 ** 20).toFixed(1), firstCallMs: +median(samples.map((s) => s.ms)).toFixed(2) };
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = benchTimeZone();
  console.log(`time zone, one local time in a fresh node ${process.version} (median of 5):`);
  for (const [mode, v] of Object.entries(r)) console.log(`  ${mode.padEnd(5)} rss ${v.rssMb} MB (+${(v.rssMb - r.none.rssMb).toFixed(1)} MB over none), first call ${v.firstCallMs} ms`);
}
