// What the ingest guards (collector/guards/: tag grammar, series budget, clock correction, site tag versions)
// cost per result, in the collector's own process: the per-result work of POST /measurements before them
// (schema check, point, line) against the same work with them, on the same results in the same run. The
// guards' SQLite lives in a registry on disk, as in production; writes to InfluxDB are not part of either
// (they are the same for both). Run alone: BENCH_ONLY=ingest-guards npm run bench.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IngestGuards } from '../collector/guards/guards.ts';
import { resultToPoint, toLine } from '../collector/influx/points.ts';
import { checkResults } from '../collector/ingest/ingest.ts';
import { Registry } from '../collector/registry/registry.ts';
import { Result } from '../protocol/results.ts';

export interface IngestGuardsResult {
  results: number;
  /** CPU µs per result, median of the rounds. */
  beforeUs: number;
  afterUs: number;
  /** after / before. */
  ratio: number;
  overheadPct: number;
}

async function cpuUs(fn: () => void | Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchIngestGuards(opts = { batches: 40, batchSize: 500, rounds: 5 }): Promise<IngestGuardsResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-bench-guards-'));
  const registry = await Registry.open(dir);
  try {
    await registry.addSite({ code: 'INGEST-1', name: 'Ingest site', commune: 'Bản Xèo', operator: 'viettel', linkType: '4g' });
    const site = (await registry.getSite('INGEST-1'))!;
    const now = Date.UTC(2026, 9, 2);
    const guards = new IngestGuards(registry.store, { write: async () => {} }, () => now);
    const identity = { deviceId: 'dev_bench', site: { code: site.code, commune: site.commune, operator: site.operator, linkType: site.linkType } };
    const targets = ['203.113.131.1:443', 'collector.example.vn:443', 'vnexpress.net:443', '8.8.8.8:53'];
    let n = 0;
    const batches = Array.from({ length: opts.batches }, () =>
      Array.from({ length: opts.batchSize }, () => ({
        id: randomUUID(), probe: 'tcp', target: targets[n % targets.length], measuredAt: now - 86_400_000 + n++, code: 'ok',
        detail: n % 50 === 0 ? 'slow answer from "upstream"\nretried' : undefined,
        fields: { sent: 5, received: 5, loss_pct: 0, rtt_min_ms: 31.2, rtt_median_ms: 35.8, rtt_mean_ms: 36.1, rtt_p95_ms: 44.0, rtt_max_ms: 44.0, jitter_ms: 3.2 },
      })),
    );
    const before: number[] = [];
    const after: number[] = [];
    let sink = 0;
    for (let round = 0; round < opts.rounds; round++) {
      before.push(await cpuUs(() => {
        for (const batch of batches) {
          for (const raw of batch) {
            const parsed = Result.safeParse(raw);
            if (parsed.success) sink += toLine(resultToPoint(parsed.data, identity)).length;
          }
        }
      }));
      after.push(await cpuUs(async () => {
        for (const batch of batches) {
          const { pending } = await checkResults({ writer: { writeLines: async () => {} }, guards, deviceId: 'dev_bench', site, now }, batch);
          sink += pending.length;
        }
      }));
    }
    if (sink === 0) throw new Error('nothing was converted');
    const results = opts.batches * opts.batchSize;
    const beforeUs = Math.round((median(before) / results) * 100) / 100;
    const afterUs = Math.round((median(after) / results) * 100) / 100;
    return { results, beforeUs, afterUs, ratio: Math.round((afterUs / beforeUs) * 100) / 100, overheadPct: Math.round(((afterUs - beforeUs) / beforeUs) * 1000) / 10 };
  } finally {
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
