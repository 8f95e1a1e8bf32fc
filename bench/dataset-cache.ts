// Generated bench datasets kept between runs. A province month at the default schedule is tens of millions
// of points: writing them takes longer than the figures they serve, so a dataset is generated once into an
// InfluxDB data directory under `.bench-cache/` and reused while its recipe is unchanged. The recipe key is
// a hash of the generator's source files and its parameters, so editing a generator regenerates its data.
// BENCH_NO_CACHE=1 ignores the cache (and writes no new entry); `rm -rf .bench-cache` empties it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startInfluxd, type InfluxServer } from '../scripts/influxd-server.ts';
import { ROOT } from './harness.ts';

export const CACHE_DIR = path.join(ROOT, '.bench-cache');

export interface CachedDataset {
  influx: InfluxServer;
  /** True when the data came from the cache (generate() did not run). */
  reused: boolean;
  /** Seconds generate() took in this run, or the seconds it took when the cached copy was made. */
  generatedInS: number;
  /** What generate() returned (e.g. the number of points), kept with the cached copy. */
  meta: Record<string, number>;
}

/**
 * Starts InfluxDB on the cached dataset `name` for `recipe`, or generates it with `generate` first.
 * `sources` are files (relative to the repository) whose text is part of the recipe.
 */
export async function cachedDataset(
  name: string,
  recipe: { sources: string[]; params: Record<string, unknown>; databases: string[] },
  generate: (influx: InfluxServer) => Promise<Record<string, number>>,
): Promise<CachedDataset> {
  const hash = createHash('sha256');
  for (const file of recipe.sources) hash.update(readFileSync(path.join(ROOT, file)));
  hash.update(JSON.stringify(recipe.params));
  const key = hash.digest('hex').slice(0, 16);
  const noCache = process.env.BENCH_NO_CACHE === '1';
  const dir = path.join(CACHE_DIR, `${name}-${key}`);
  const marker = path.join(dir, 'complete.json');
  if (!noCache && existsSync(marker)) {
    const { generatedInS, meta } = JSON.parse(readFileSync(marker, 'utf8')) as { generatedInS: number; meta: Record<string, number> };
    console.log(`[bench] ${name}: reusing the dataset in ${path.relative(ROOT, dir)} (generated in ${generatedInS} s)`);
    return { influx: await startInfluxd({ dataDir: dir, databases: recipe.databases }), reused: true, generatedInS, meta };
  }
  if (noCache) {
    const influx = await startInfluxd({ databases: recipe.databases });
    const t0 = performance.now();
    const meta = await generate(influx);
    return { influx, reused: false, generatedInS: Math.round((performance.now() - t0) / 1000), meta };
  }
  // A half-written entry (interrupted run) is started over; older recipes of the same name are removed.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(CACHE_DIR, { recursive: true });
  for (const old of readdirNames(CACHE_DIR).filter((d) => d.startsWith(`${name}-`))) rmSync(path.join(CACHE_DIR, old), { recursive: true, force: true });
  const influx = await startInfluxd({ dataDir: dir, databases: recipe.databases });
  const t0 = performance.now();
  let meta: Record<string, number>;
  try {
    meta = await generate(influx);
  } catch (err) {
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const generatedInS = Math.round((performance.now() - t0) / 1000);
  writeFileSync(marker, JSON.stringify({ name, recipe: recipe.params, generatedInS, meta, at: new Date().toISOString() }));
  return { influx, reused: false, generatedInS, meta };
}

function readdirNames(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}
