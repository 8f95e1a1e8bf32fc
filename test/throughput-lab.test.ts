// Throughput on a shaped link: the collector in one network namespace, the agent in another, joined by a
// veth pair shaped with tc tbf (test/lab/). Both methods must read within ±10 % of the shaped rate, and
// every fault must end with a result code and the bytes used, never a hang.
// Congestion control: the namespaces' default (this machine's, BBR). Alone on a tbf link at a sub-millisecond
// RTT, BBR and a loss-based sender both keep the link full, so the ±10 % of the shaped rate holds for either
// (SONGCHECK_LAB_TCP_CC=reno runs the lab loss-based).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '../protocol/results.ts';
import { createLabStack, type LabStack } from './lab/lab-stack.ts';

type Throughput = Extract<Result, { probe: 'throughput' }>;

const RATES = [
  { downMbit: 4, upMbit: 1 },
  { downMbit: 12, upMbit: 4 },
  { downMbit: 40, upMbit: 10 },
];

function byDirection(results: Result[]): Record<'download' | 'upload', Throughput> {
  const t = results.filter((r): r is Throughput => r.probe === 'throughput');
  const download = t.find((r) => r.direction === 'download');
  const upload = t.find((r) => r.direction === 'upload');
  if (!download || !upload) throw new Error(`expected a download and an upload result, got ${JSON.stringify(results)}`);
  return { download, upload };
}

describe('throughput on a shaped link (network lab)', () => {
  let stack: LabStack;
  beforeAll(async () => {
    stack = await createLabStack();
  });
  afterAll(async () => {
    await stack?.destroy();
  });

  for (const rate of RATES) {
    for (const method of ['ndt7', 'http'] as const) {
      it(`${method} reads ${rate.downMbit} down / ${rate.upMbit} up Mbit/s within ±10 %`, async () => {
        await stack.lab.shape(rate);
        const { results, output } = await stack.measure(method);
        const { download, upload } = byDirection(results);
        const context = `${method} at ${rate.downMbit}/${rate.upMbit}: ${JSON.stringify([download.fields, upload.fields])}\n${output.slice(0, 300)}`;
        expect(download.code, context).toBe('ok');
        expect(upload.code, context).toBe('ok');
        expect(download.fields.mbps! / rate.downMbit, context).toBeGreaterThan(0.9);
        expect(download.fields.mbps! / rate.downMbit, context).toBeLessThan(1.1);
        expect(upload.fields.mbps! / rate.upMbit, context).toBeGreaterThan(0.9);
        expect(upload.fields.mbps! / rate.upMbit, context).toBeLessThan(1.1);
        expect(download.fields.streams).toBe(method === 'http' ? 4 : 1);
        expect(download.method).toBe(method === 'http' ? 'http_multistream' : 'ndt7');
        // Latency under load is measured beside idle latency.
        expect(download.fields.idle_rtt_ms).toBeDefined();
        expect(download.fields.loaded_rtt_median_ms).toBeDefined();
        expect(download.fields.rpm).toBeGreaterThan(0);
      });
    }
  }

  describe('faults end with a code and the bytes used', () => {
    beforeAll(async () => {
      await stack.lab.shape({ downMbit: 4, upMbit: 2 });
    });

    it('a test stops at its byte cap', async () => {
      const { results } = await stack.measure('ndt7', 'directions: [download], budget: { monthlyMegabytes: 100000, pauseBelowMegabytes: 0, perTestMaxMegabytes: 1 }, warmupMs: 500, minSteadyMs: 500');
      const r = results[0] as Throughput;
      expect(r.fields.stop_reason).toBe('byte_cap');
      expect(r.fields.bytes).toBeGreaterThan(900_000);
      expect(r.fields.bytes).toBeLessThan(1_300_000);
      expect(r.fields.budget_bytes).toBeGreaterThan(0);
    });

    it('an exhausted monthly budget pauses tests: unavailable, no bytes', async () => {
      // 10 MB a month, pause below 9.5 MB left: the ledger's earlier tests (or the floor itself) leave no room.
      const { results, code } = await stack.measure('http', 'budget: { monthlyMegabytes: 10, pauseBelowMegabytes: 9.5, perTestMaxMegabytes: 10 }');
      expect(code).toBe(1);
      for (const r of results as Throughput[]) {
        expect(r.code).toBe('unavailable');
        expect(r.detail).toMatch(/data budget/);
        expect(r.fields.bytes).toBe(0);
        expect(r.fields.budget_left_bytes).toBeLessThan(10_000_000);
      }
    });

    it('a connection cut mid-test ends in timeout or reset with the bytes so far', async () => {
      // No busy-line watch (2 s before the test): the cut must land inside the transfer.
      const measuring = stack.measure('ndt7', 'directions: [download], adaptive: false, stallSeconds: 2, busyLine: { enabled: false }');
      // Past the process start, the lease and the idle RTT: the transfer is under way.
      await new Promise((r) => setTimeout(r, 4_000));
      await stack.lab.setLink(false);
      let results: Result[];
      try {
        ({ results } = await measuring);
      } finally {
        await stack.lab.setLink(true);
      }
      const r = results[0] as Throughput;
      expect(['timeout', 'reset']).toContain(r.code);
      expect(r.fields.bytes).toBeGreaterThan(0);
      expect(r.fields.stop_reason).toBe('failed');
    });

    it('a server that stalls mid-test ends in timeout with the bytes so far', async () => {
      const measuring = stack.measure('http', 'directions: [download], adaptive: false, stallSeconds: 2, busyLine: { enabled: false }');
      // Past the process start, the lease and the idle RTT: the transfer is under way.
      await new Promise((r) => setTimeout(r, 4_000));
      stack.collector!.kill('SIGSTOP');
      let results: Result[];
      try {
        ({ results } = await measuring);
      } finally {
        stack.collector!.kill('SIGCONT');
      }
      const r = results[0] as Throughput;
      expect(r.code).toBe('timeout');
      expect(r.fields.bytes).toBeGreaterThan(0);
    });

    it('a server that refuses (collector down) ends in refused with no bytes', async () => {
      await stack.stopCollector();
      try {
        const { results } = await stack.measure('ndt7', 'arbitrate: false');
        for (const r of results as Throughput[]) {
          expect(r.code).toBe('refused');
          expect(r.fields.bytes).toBe(0);
        }
      } finally {
        await stack.startCollector();
      }
    });
  });
});
