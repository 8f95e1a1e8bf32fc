// Summarises V8 CPU profiles (`node --cpu-prof`) by self time: the functions where the collector's own
// per-result time goes. Used for the ingest profile in bench/README.md:
//   BENCH_ONLY=ingest BENCH_COLLECTOR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/songcheck-prof" npm run bench
//   npx tsx bench/profile-top.ts /tmp/songcheck-prof [N]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const Profile = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

const [target, topText = '20'] = process.argv.slice(2);
if (!target) {
  console.error('usage: tsx bench/profile-top.ts <profile.cpuprofile | directory of them> [how many, default 20]');
  process.exit(2);
}
const top = Number(topText);
if (!Number.isInteger(top) || top < 1) {
  console.error(`how many: a whole number, got ${topText}`);
  process.exit(2);
}
const files = statSync(target).isDirectory()
  ? readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(target, f))
  : [target];
if (files.length === 0) {
  console.error(`no .cpuprofile in ${target}`);
  process.exit(1);
}

// CLI commands the bench runs (enrolment, ...) leave short profiles full of module loading; only the
// long-running serve processes count: profiles sampled for at least a fifth of the longest one.
const profiles = files.map((file) => ({ file, p: Profile.parse(JSON.parse(readFileSync(file, 'utf8'))) }));
const spanUs = (p: z.infer<typeof Profile>) => p.timeDeltas.reduce((a, b) => a + b, 0);
const longest = Math.max(...profiles.map(({ p }) => spanUs(p)));
const kept = profiles.filter(({ p }) => spanUs(p) >= longest / 5);
const selfUs = new Map<string, number>();
let totalUs = 0;
for (const { p } of kept) {
  const name = new Map(p.nodes.map((n) => [n.id, where(n.callFrame)]));
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i] ?? 0;
    const key = name.get(id) ?? '?';
    selfUs.set(key, (selfUs.get(key) ?? 0) + us);
    totalUs += us;
  });
}

function where(f: { functionName: string; url: string; lineNumber: number }): string {
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/(collector|protocol|scripts)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
}

const busyUs = totalUs - (selfUs.get('(idle)') ?? 0) - (selfUs.get('(program)') ?? 0);
console.log(`${kept.length} of ${files.length} profile(s) (the long-running processes), ${(totalUs / 1e6).toFixed(1)} s sampled, ${(busyUs / 1e6).toFixed(1)} s busy (not idle, not (program))`);
console.log('| self time, % of busy | function |');
console.log('| ---: | --- |');
for (const [key, us] of [...selfUs].filter(([k]) => k !== '(idle)' && k !== '(program)').sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`| ${((us / busyUs) * 100).toFixed(1)} | \`${key}\` |`);
}
