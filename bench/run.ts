// `npm run bench`: runs every benchmark, prints each figure with its ratio to the reference measured in the
// same run, and rewrites bench/RESULTS.md with the machine and the date.
// BENCH_ONLY=ingest,footprint picks benchmarks; BENCH_FOOTPRINT_SECONDS sets the footprint duration.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { benchAgentFootprint } from './agent-footprint.ts';
import { benchIngest } from './ingest.ts';

interface Section {
  name: string;
  run(): Promise<string>;
}

const sections: Section[] = [
  {
    name: 'ingest',
    async run() {
      const r = await benchIngest();
      return [
        '## Ingest: collector vs direct InfluxDB /write',
        '',
        `${r.results} results (${r.devices} devices, batches of ${r.batchSize}, ${r.concurrency} concurrent senders), InfluxDB 1.6 on loopback.`,
        '',
        '| path | results/s | stored |',
        '| --- | ---: | ---: |',
        `| direct line protocol to /write (reference) | ${r.directPerSecond} | ${r.storedDirect} |`,
        `| through the collector (auth, validation, conversion, ack) | ${r.collectorPerSecond} | ${r.storedViaCollector} |`,
        '',
        `CPU per result: direct phase influxd ${r.cpuUs.direct.influx} µs, sender ${r.cpuUs.direct.client} µs; collector phase influxd ${r.cpuUs.collector.influx} µs, collector ${r.cpuUs.collector.collector} µs, sender ${r.cpuUs.collector.client} µs.`,
        '',
        `**Ratio collector / direct: ${r.ratio}** (goal ≥ 0.70: ${r.ratio >= 0.7 ? 'met' : 'NOT met'}).`,
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
        `| songcheck-agent run, one-file build (\`dist/songcheck-agent.mjs run\`, i.e. node --max-semi-space-size=1) | ${r.agentRssMedianMb} | ${r.agentRssMaxMb} | ${r.agentCpuPct} % |`,
        `| development entry (\`bin/songcheck-agent.js run\`, TypeScript through tsx) | ${r.devEntryRssMb} | | |`,
        '',
        `**Ratio agent / bare node RSS: ${r.ratio}**; idle RSS goal ≤ 60 MB: ${r.agentRssMaxMb <= 60 ? 'met' : 'NOT met'}.`,
      ].join('\n');
    },
  },
];

const only = process.env.BENCH_ONLY?.split(',');
const out: string[] = [];
for (const s of sections) {
  if (only && !only.includes(s.name)) continue;
  console.log(`[bench] ${s.name}...`);
  const text = await s.run();
  console.log(text + '\n');
  out.push(text);
}
const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
if (!only) {
  writeFileSync(
    new URL('./RESULTS.md', import.meta.url),
    `# Benchmark results\n\nLatest \`npm run bench\`: ${new Date().toISOString().slice(0, 10)} on ${machine}.\n\n${out.join('\n\n')}\n`,
  );
  console.log('[bench] wrote bench/RESULTS.md');
} else {
  console.log(`[bench] BENCH_ONLY set: bench/RESULTS.md not rewritten (machine: ${machine})`);
}
