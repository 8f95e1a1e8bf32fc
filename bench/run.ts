// `npm run bench`: runs every benchmark, prints each figure with its ratio to the reference measured in the
// same run, and rewrites bench/RESULTS.md with the machine and the date.
// BENCH_ONLY=ingest,footprint,bundle picks benchmarks; BENCH_FOOTPRINT_SECONDS sets the footprint duration.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { benchAgentBundle } from './agent-bundle.ts';
import { alertsReport, benchAlerts } from './alerts.ts';
import { benchAgentFootprint } from './agent-footprint.ts';
import { benchControl, controlReport } from './control.ts';
import { benchControlFlood, controlFloodReport } from './control-flood.ts';
import { benchCompliance, complianceReport } from './compliance.ts';
import { benchConsole, consoleReport } from './console.ts';
import { benchEvidence, evidenceReport } from './evidence.ts';
import { benchGrafana, grafanaReport } from './grafana.ts';
import { benchIngest } from './ingest.ts';
import { benchIngestGuards } from './ingest-guards.ts';
import { benchSeveralCollectors, severalCollectorsReport } from './several-collectors.ts';
import { accuracyReport, benchThroughputAccuracy } from './throughput-accuracy.ts';
import { benchThroughputData, dataReport } from './throughput-data.ts';
import { benchThroughputBoost, boostReport } from './throughput-boost.ts';
import { benchThroughputLongPath, longPathReport } from './throughput-long-path.ts';

interface Section {
  name: string;
  run(): Promise<string>;
}

const sections: Section[] = [
  {
    name: 'ingest',
    async run() {
      const runs = [await benchIngest(1), await benchIngest(2)];
      const r0 = runs[0]!;
      return [
        '## Ingest: collector vs direct InfluxDB /write',
        '',
        `${r0.results} results per path (${r0.devices} devices, batches of ${r0.batchSize}, ${r0.concurrency} concurrent senders), InfluxDB 1.6 on loopback; sender, collector and InfluxDB share the machine's cores. Each row is its own stack with its own direct reference measured in the same run.`,
        '',
        '| collector processes | direct /write (reference), results/s | through the collector, results/s | ratio | stored (collector / direct) | CPU µs per result: collector / influxd / sender |',
        '| ---: | ---: | ---: | ---: | ---: | ---: |',
        ...runs.map(
          (r) =>
            `| ${r.workers} | ${r.directPerSecond} | ${r.collectorPerSecond} | **${r.ratio}** | ${r.storedViaCollector} / ${r.storedDirect} | ${r.cpuUs.collector.collector} / ${r.cpuUs.collector.influx} / ${r.cpuUs.collector.client} (direct phase: influxd ${r.cpuUs.direct.influx}, sender ${r.cpuUs.direct.client}) |`,
        ),
        '',
        `Goal: the collector reaches ≥ 0.70 of the direct path: ${runs.some((r) => r.ratio >= 0.7) ? 'met' : 'NOT met'}.`,
      ].join('\n');
    },
  },
  {
    name: 'ingest-guards',
    async run() {
      const r = await benchIngestGuards();
      return [
        '## Ingest guards: collector CPU per result before and after the checks (issue 14)',
        '',
        `${r.results} tcp results in batches of 500, in the collector's code in one process, the same results for both; median of 5 rounds. Before: schema check, point and line. After: the same through \`checkResults\` with the guards (tag grammar, series budget, clock correction, site tag versions; SQLite registry on disk). InfluxDB writes are the same for both and left out.`,
        '',
        '| before, CPU µs per result | after, CPU µs per result | ratio after/before | guards overhead |',
        '| ---: | ---: | ---: | ---: |',
        `| ${r.beforeUs} | ${r.afterUs} | ${r.ratio} | **${r.overheadPct} %** |`,
        '',
        `This is the overhead on the per-result conversion alone; against the collector's whole CPU per result (the ingest section's collector µs, which includes HTTP, JSON and the write) it is smaller still. Goal < 10 % of that: see the ingest section of the same run.`,
      ].join('\n');
    },
  },
  {
    name: 'footprint',
    async run() {
      const r = await benchAgentFootprint();
      return [
        '## Agent footprint: idle enrolled agent, default schedule',
        '',
        `${r.seconds} s with the default schedule (no config file); process tree RSS sampled every 2 s after warm-up; ${r.resultsDelivered} results delivered meanwhile.`,
        '',
        '| process | RSS median (MB) | RSS max (MB) | CPU |',
        '| --- | ---: | ---: | ---: |',
        `| bare \`node -e 'setInterval(...)'\` (reference) | ${r.bareNodeRssMb} | | |`,
        `| songcheck-agent run, one-file build (\`dist/songcheck-agent.mjs run --log-file\`, i.e. node --max-semi-space-size=1, as the services run it) | ${r.agentRssMedianMb} | ${r.agentRssMaxMb} | ${r.agentCpuPct} % |`,
        `| development entry (\`bin/songcheck-agent.js run\`, TypeScript through tsx) | ${r.devEntryRssMb} | | |`,
        '',
        `**Ratio agent / bare node RSS: ${r.ratio}**; idle RSS goal ≤ 60 MB: ${r.agentRssMaxMb <= 60 ? 'met' : 'NOT met'}.`,
      ].join('\n');
    },
  },
  {
    name: 'bundle',
    async run() {
      const r = await benchAgentBundle();
      const mib = (n: number) => (n / 2 ** 20).toFixed(2);
      return [
        '## Agent bundle: size and start-up to the first measurement',
        '',
        `The offline bundle (\`npm run bundle:agent\`); times are medians of ${r.runs} cold starts of plain \`node ${'--max-semi-space-size=1'}\`, measured from spawn. The idle RSS of the same one-file build is the footprint section's figure.`,
        '',
        '| what | figure | goal |',
        '| --- | ---: | --- |',
        `| \`songcheck-agent.mjs\` | ${mib(r.mjsBytes)} MiB | < 5 MB: ${r.mjsBytes < 5e6 ? 'met' : 'NOT met'} |`,
        `| bundle \`.tar.gz\` / \`.zip\` (agent, scripts, WinSW, docs) | ${mib(r.tarGzBytes)} / ${mib(r.zipBytes)} MiB | |`,
        `| \`node -e 0\` (reference) | ${r.nodeBareMs} ms | |`,
        `| \`measure tcp\` (1 connect to loopback) until the result is printed | ${r.measureMs} ms (${(r.measureMs / r.nodeBareMs).toFixed(1)}× node) | < 2 s: ${r.measureMs < 2000 ? 'met' : 'NOT met'} |`,
        `| \`run\` until its first result is queued (tcp every second: includes up to 1 s waiting for the first tick) | ${r.runFirstResultMs} ms | < 2 s: ${r.runFirstResultMs < 2000 ? 'met' : 'NOT met'} |`,
      ].join('\n');
    },
  },
  // 10 000 control-channel connections (BENCH_CONTROL_CONNECTIONS); see bench/README.md.
  { name: 'control', run: async () => controlReport(await benchControl()) },
  { name: 'several-collectors', run: async () => severalCollectorsReport(await benchSeveralCollectors()) },
  // One device flooding its control-channel WebSocket, with and without the message budget (issue 14, case 8).
  { name: 'control-flood', run: async () => controlFloodReport(await benchControlFlood()) },
  // Network lab (root): namespaces, veth, tc tbf; see docs/throughput.md.
  { name: 'throughput-accuracy', run: async () => accuracyReport(await benchThroughputAccuracy()) },
  { name: 'throughput-data', run: async () => dataReport(await benchThroughputData()) },
  // Boosts (tbf burst + peakrate) and long paths (TUN delay line); see docs/throughput.md.
  { name: 'throughput-boost', run: async () => boostReport(await benchThroughputBoost()) },
  { name: 'throughput-long-path', run: async () => longPathReport(await benchThroughputLongPath()) },
  // Monthly verdicts for 2 000 sites (BENCH_COMPLIANCE_SITES scales it); see bench/README.md.
  { name: 'compliance', run: async () => complianceReport(await benchCompliance()) },
  { name: 'alerts', run: async () => alertsReport(await benchAlerts()) },
  { name: 'evidence', run: async () => evidenceReport(await benchEvidence()) },
  // Province overview queries over 30 days (bench/grafana.ts); BENCH_GRAFANA_SITES etc. size the dataset.
  { name: 'grafana', run: async () => grafanaReport(await benchGrafana()) },
  // Console pages (collector/console/) for 2 000 sites and a month; BENCH_CONSOLE_SITES etc. size the dataset.
  { name: 'console', run: async () => consoleReport(await benchConsole()) },
];

const only = process.env.BENCH_ONLY?.split(',');
const unknown = only?.filter((n) => !sections.some((s) => s.name === n)) ?? [];
if (unknown.length > 0) {
  console.error(`BENCH_ONLY: unknown section ${unknown.join(', ')}; sections: ${sections.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const out: string[] = [];
/** How long each section took (dataset generation included): a full run must fit a developer's wait. */
const durations: { name: string; seconds: number; load: [number, number] }[] = [];
/** The 1-minute load average: absolute times from a shared machine mean little without it. */
const load1 = () => Math.round(loadavg()[0]! * 10) / 10;
const runStart = performance.now();
const failed: string[] = [];
for (const s of sections) {
  if (only && !only.includes(s.name)) continue;
  console.log(`[bench] ${s.name}...`);
  const t0 = performance.now();
  const loadBefore = load1();
  // A section that fails is recorded as failed and the run goes on: one broken section must not cost the
  // hour the others took (the run exits non-zero at the end).
  let text: string;
  try {
    text = await s.run();
  } catch (error) {
    failed.push(s.name);
    console.error(error);
    text = `## ${s.name}: FAILED\n\nThe section stopped with: \`${String((error as Error).message ?? error).split('\n')[0]!.slice(0, 300)}\`. Its figures are missing from this run.`;
  }
  const seconds = Math.round((performance.now() - t0) / 1000);
  durations.push({ name: s.name, seconds, load: [loadBefore, load1()] });
  console.log(text + '\n');
  console.log(`[bench] ${s.name} took ${seconds} s\n`);
  out.push(text);
}
const totalS = Math.round((performance.now() - runStart) / 1000);
out.push(
  [
    '## How long each section took',
    '',
    `The machine has ${cpus().length} cores; a load average above that means other work shared them, and absolute times are longer than on a quiet machine (ratios compare figures taken together, in the same conditions).`,
    '',
    '| section | seconds | load average at its start / end |',
    '| --- | ---: | ---: |',
    ...durations.map((d) => `| ${d.name} | ${d.seconds} | ${d.load[0]} / ${d.load[1]} |`),
    `| **whole run** | **${totalS}** | |`,
  ].join('\n'),
);
console.log(`[bench] whole run took ${totalS} s`);
/** Dataset sizes changed from their defaults are part of the result: say which. */
function overrides(): string {
  const set = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_') && k !== 'BENCH_ONLY');
  return set.length === 0 ? '' : ` Run with ${set.map(([k, v]) => `\`${k}=${v}\``).join(', ')}.`;
}
/** The commit measured (with "+changes" when the tree differs from it), so figures can be tied to code. */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return ` Commit ${head}${dirty ? ' with uncommitted changes' : ''}.`;
  } catch {
    return '';
  }
}
const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
if (!only) {
  writeFileSync(
    new URL('./RESULTS.md', import.meta.url),
    `# Benchmark results\n\nLatest \`npm run bench\`: ${new Date().toISOString().slice(0, 10)} on ${machine}.${commit()}${overrides()}\n\n${out.join('\n\n')}\n`,
  );
  console.log('[bench] wrote bench/RESULTS.md');
} else {
  console.log(`[bench] BENCH_ONLY set: bench/RESULTS.md not rewritten (machine: ${machine})`);
}
if (failed.length > 0) {
  console.error(`[bench] ${failed.length} section(s) failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
