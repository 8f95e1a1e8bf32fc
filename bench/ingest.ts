// Ingest: results per second through the collector (auth, validation, conversion, write, acknowledgement)
// into InfluxDB, against the same line protocol written straight to InfluxDB's /write in the same run.
import { randomUUID } from 'node:crypto';
import type { Result } from '../protocol/results.ts';
import { resultToPoint, toLine } from '../collector/influx/points.ts';
import { enrollmentCode, startBenchStack, timedJobs, treeCpuSeconds } from './harness.ts';

export interface IngestResult {
  workers: number;
  devices: number;
  batchSize: number;
  results: number;
  concurrency: number;
  collectorPerSecond: number;
  directPerSecond: number;
  ratio: number;
  storedViaCollector: number;
  storedDirect: number;
  /** CPU time per result in microseconds, by process, in each phase. */
  cpuUs: { direct: { influx: number; client: number }; collector: { influx: number; collector: number; client: number } };
}

export async function benchIngest(workers = 1, opts = { devices: 20, batchesPerDevice: 25, batchSize: 200, concurrency: 8 }): Promise<IngestResult> {
  const stack = await startBenchStack(['bench_collector', 'bench_direct'], { SONGCHECK_WORKERS: String(workers) });
  try {
    await stack.cli('sites', 'add', '--code', 'INGEST-1', '--name', 'Ingest site', '--commune', 'Bản Xèo', '--operator', 'viettel', '--link-type', '4g');
    const code = enrollmentCode(await stack.cli('enroll-code', '--site', 'INGEST-1', '--uses', String(opts.devices)));
    const devices: { deviceId: string; token: string }[] = [];
    for (let d = 0; d < opts.devices; d++) {
      const res = await fetch(`${stack.collectorUrl}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
      devices.push((await res.json()) as { deviceId: string; token: string });
    }

    // The same results for both paths; timestamps 1 ms apart so no two points collide.
    const t0 = Date.UTC(2026, 9, 1);
    let n = 0;
    const batches = devices.flatMap((device) =>
      Array.from({ length: opts.batchesPerDevice }, () => ({
        device,
        results: Array.from({ length: opts.batchSize }, (): Result => ({
          id: randomUUID(),
          probe: 'tcp',
          target: '203.113.131.1:443',
          measuredAt: t0 + n++,
          code: 'ok',
          fields: { sent: 5, received: 5, loss_pct: 0, rtt_min_ms: 31.2, rtt_median_ms: 35.8, rtt_mean_ms: 36.1, rtt_p95_ms: 44.0, rtt_max_ms: 44.0, jitter_ms: 3.2 },
        })),
      })),
    );
    const directBodies = batches.map((b) =>
      b.results.map((r) => toLine(resultToPoint(r, { deviceId: b.device.deviceId, site: { code: 'INGEST-1', commune: 'Bản Xèo', operator: 'viettel', linkType: '4g' } }))).join('\n'),
    );
    const collectorBodies = batches.map((b) => ({ token: b.device.token, body: JSON.stringify({ results: b.results }) }));

    const cpu = () => ({ collector: treeCpuSeconds(stack.collector.pid!), influx: treeCpuSeconds(stack.influx.pid!), bench: process.cpuUsage() });
    const c0 = cpu();
    const direct = await timedJobs(directBodies.length, opts.concurrency, async (i) => {
      const res = await fetch(`${stack.influx.url}/write?db=bench_direct&precision=ms`, { method: 'POST', body: directBodies[i] });
      if (res.status !== 204) throw new Error(`direct write ${res.status}: ${await res.text()}`);
    });
    const c1 = cpu();
    const viaCollector = await timedJobs(collectorBodies.length, opts.concurrency, async (i) => {
      const { token, body } = collectorBodies[i]!;
      const res = await fetch(`${stack.collectorUrl}/api/v1/measurements`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      if (res.status !== 200) throw new Error(`collector ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    });
    const c2 = cpu();
    const perResult = (a: number, b: number) => Math.round(((b - a) * 1e6) / (opts.devices * opts.batchesPerDevice * opts.batchSize) * 10) / 10;
    const cpuUs = {
      direct: { influx: perResult(c0.influx, c1.influx), client: perResult((c0.bench.user + c0.bench.system) / 1e6, (c1.bench.user + c1.bench.system) / 1e6) },
      collector: { influx: perResult(c1.influx, c2.influx), collector: perResult(c1.collector, c2.collector), client: perResult((c1.bench.user + c1.bench.system) / 1e6, (c2.bench.user + c2.bench.system) / 1e6) },
    };
    const count = async (db: string) => {
      const r = await fetch(`${stack.influx.url}/query?db=${db}&q=${encodeURIComponent('SELECT count(result_id) FROM latency')}`);
      const body = (await r.json()) as { results: { series?: { values: [number, number][] }[] }[] };
      return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
    };
    const results = batches.length * opts.batchSize;
    return {
      workers,
      devices: opts.devices,
      batchSize: opts.batchSize,
      results,
      concurrency: opts.concurrency,
      collectorPerSecond: Math.round(results / viaCollector),
      directPerSecond: Math.round(results / direct),
      ratio: Math.round((direct / viaCollector) * 1000) / 1000,
      storedViaCollector: await count('bench_collector'),
      storedDirect: await count('bench_direct'),
      cpuUs,
    };
  } finally {
    await stack.stop();
  }
}

