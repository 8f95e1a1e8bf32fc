// Compliance bench: monthly verdicts for a province. A month (November 2026) of results at the agent's
// default schedule (bench/province-month.ts), one InfluxDB per province size (250 and 2 000 sites; 10 000 with
// BENCH_COMPLIANCE_SITES=10000), kept between runs by bench/dataset-cache.ts; then the engine computes and
// stores every site's monthly verdicts. References measured on the same data in the same run: one InfluxQL
// count over the month, GROUP BY site, and one median over the month without school hours.
// BENCH_COMPLIANCE_SITES (default 2000) scales the largest step: BENCH_COMPLIANCE_SITES=100 is a quick run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedDataset } from './dataset-cache.ts';
import { getDefaultCalendar } from '../collector/school/calendar.ts';
import { ComplianceEngine } from '../collector/compliance/engine.ts';
import { getDefaultProfiles } from '../collector/school/profiles.ts';
import { createInfluxWriter } from '../collector/influx/writer.ts';
import { Registry } from '../collector/registry/registry.ts';
import { DAYS, MONTH_START, siteTags, writeSites } from './province-month.ts';

const MONTH = '2026-11';
const NOW = Date.parse('2026-12-01T01:00:00+07:00');
const MEDIAN_REFERENCE_MAX_SITES = 500;

export interface ComplianceStep {
  sites: number;
  points: number;
  /** Seconds the dataset took to write (in this run, or when the cached copy was made). */
  writeS: number;
  reused: boolean;
  /** Engine: every site's monthly verdicts computed and stored. */
  runS: number;
  queryS: number;
  countS: number;
  medianS?: number;
  /** The bench process's peak resident memory so far (steps grow, so: the peak of this step), MB. */
  peakRssMb: number;
  counts: Record<string, number>;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, (performance.now() - t0) / 1000];
}

export async function benchCompliance(): Promise<ComplianceStep[]> {
  const max = Number(process.env.BENCH_COMPLIANCE_SITES ?? 2000);
  if (!Number.isInteger(max) || max < 1 || max > 50_000) throw new Error('BENCH_COMPLIANCE_SITES must be a whole number from 1 to 50000');
  // Growth: 250 and 2 000 sites by default; BENCH_COMPLIANCE_SITES=10000 adds the 10 000-site step.
  const steps = [...new Set([250, 2000, 10_000].filter((n) => n < max).concat(max))].sort((a, b) => a - b);
  const out: ComplianceStep[] = [];
  for (const n of steps) out.push(await complianceStep(n));
  return out;
}

/** One province of `n` sites: its own InfluxDB (the cached dataset) and registry, and the engine's run. */
async function complianceStep(n: number): Promise<ComplianceStep> {
  const data = await cachedDataset(
    `compliance-${n}`,
    { sources: ['bench/province-month.ts', 'bench/line-writer.ts', 'scripts/seeded-random.ts'], params: { n }, databases: ['bench'] },
    async (influx) => ({ points: await writeSites(influx.url, 'bench', 0, n) }),
  );
  const { influx } = data;
  const dir = mkdtempSync(join(tmpdir(), 'songcheck-bench-compliance-'));
  const registry = await Registry.open(dir);
  try {
    for (let i = 0; i < n; i++) {
      const t = siteTags(i);
      await registry.addSite({ code: t.site, name: `Điểm trường ${i}`, commune: t.commune, operator: t.operator, linkType: '4g', students: i % 10 === 0 ? 800 : 200 });
    }
    const writer = createInfluxWriter({ url: influx.url, database: 'bench', timeoutMs: 600_000 });
    const engine = new ComplianceEngine({ writer, registry, calendar: getDefaultCalendar(), profiles: getDefaultProfiles(), clock: () => NOW });
    const period = engine.period(MONTH);
    const range = `time >= ${MONTH_START}ms AND time < ${MONTH_START + DAYS * 86_400_000}ms`;
    const points = data.meta.points ?? 0;
    const [, countS] = await timed(() => writer.query(`SELECT count(rtt_median_ms) FROM latency WHERE ${range} GROUP BY site`));
    // InfluxDB's own median over the whole month (no school hours) is slow; it is shown up to 500 sites only.
    const medianS = n <= MEDIAN_REFERENCE_MAX_SITES ? (await timed(() => writer.query(`SELECT median(rtt_median_ms), percentile(rtt_median_ms, 95) FROM latency WHERE ${range} GROUP BY site`)))[1] : undefined;
    const [run, runS] = await timed(() => engine.run(period));
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    const step = { sites: n, points, writeS: data.generatedInS, reused: data.reused, runS, queryS: run.queryMs / 1000, countS, medianS, counts: run.counts, peakRssMb };
    console.log(`[bench] compliance ${n} sites: ${points} points (${data.reused ? 'cached, generated' : 'written'} in ${data.generatedInS} s); run ${runS.toFixed(2)} s (queries ${(run.queryMs / 1000).toFixed(2)} s); count ${countS.toFixed(2)} s, median ${medianS?.toFixed(2) ?? '-'} s; peak RSS ${peakRssMb} MB`);
    return step;
  } finally {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
    await influx.stop();
  }
}

export function complianceReport(steps: ComplianceStep[]): string {
  const last = steps[steps.length - 1]!;
  // The goal is the province's (2 000 sites); larger steps are growth.
  const goal = steps.find((s) => s.sites === 2000);
  const f = (x: number) => x.toFixed(2);
  return [
    '## Compliance: monthly verdicts for a province',
    '',
    `November 2026 (${DAYS} days, 21 school days) at the agent's default schedule: per site ${Math.round(last.points / last.sites)} points (TCP-connect every 5 min and an uptime slot every 15 min around the clock, 4 throughput tests per direction on school days), written as line protocol in batches of 20 000 lines. The run computes every site's 8 criteria of the default 4G profile over school hours (one request per school day: the rows of throughput and TCP-connect runs, and InfluxDB's sums of the uptime slots) and stores the \`compliance\` points. References on the same data: one \`count()\` and one \`median()\`+\`percentile()\` over the whole month, GROUP BY site.`,
    '',
    '| sites | points in InfluxDB | written in (s) | engine run (s) | of which InfluxQL (s) | count() over the month, reference (s) | median+p95 over the month (s) | run / count | verdicts PASS / FAIL / INSUFFICIENT | peak RSS of the engine’s process (MB) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...steps.map((s) => `| ${s.sites} | ${s.points} | ${f(s.writeS)}${s.reused ? ' (cached)' : ''} | ${f(s.runS)} | ${f(s.queryS)} | ${f(s.countS)} | ${s.medianS === undefined ? '–' : f(s.medianS)} | **${(s.runS / s.countS).toFixed(1)}** | ${s.counts.PASS} / ${s.counts.FAIL} / ${s.counts.INSUFFICIENT} | ${s.peakRssMb} |`),
    '',
    `Growth: ${steps.map((s) => `${f(s.runS / s.sites * 1000)} ms`).join(', ')} per site at ${steps.map((s) => s.sites).join(', ')} sites.${onPaper(steps)}`,
    goal
      ? `Goal: 2000 sites in under 60 s: ${goal.runS < 60 ? 'met' : 'NOT met'} (${f(goal.runS)} s).`
      : `Goal (2000 sites in under 60 s): not measured, this run's largest step is ${last.sites} sites (BENCH_COMPLIANCE_SITES).`,
  ].join('\n');
}

/**
 * 50 000 sites on paper: the line through the two largest measured steps (time per added site is what the
 * curve shows between them), and the dataset that size would be. Only with at least two steps of 2 000+ sites.
 */
function onPaper(steps: ComplianceStep[]): string {
  const big = steps.filter((s) => s.sites >= 2000);
  if (big.length < 2) return '';
  const [a, b] = big.slice(-2) as [ComplianceStep, ComplianceStep];
  const perSite = (b.runS - a.runS) / (b.sites - a.sites);
  const at = (n: number) => b.runS + perSite * (n - b.sites);
  return ` On paper, from the line through ${a.sites} and ${b.sites} sites (${(perSite * 1000).toFixed(1)} ms per added site): 50000 sites ≈ ${Math.round(at(50_000))} s (${(at(50_000) / 60).toFixed(1)} min) for ${(((b.points / b.sites) * 50_000) / 1e9).toFixed(2)} billion points a month.`;
}
