// Operators' boosts in the network lab: tbf with a large bucket (burst) emptied at a peak rate, then the
// sustained rate (test/lab/netlab.ts tbfArgs). The figure is the rate after the boost, within ±10 % of the
// shaped sustained rate; the boost is reported with its peak and the bytes it lasted. The first test of the
// agent is a learning test (it finds the boost); the next, with the other method, runs past the learned boost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '../protocol/results.ts';
import { createLabStack, type LabStack } from './lab/lab-stack.ts';

type Throughput = Extract<Result, { probe: 'throughput' }>;

// Buckets of several sizes and peaks: a short boost at 3 ×, a mid one at 4 ×, a large one at 2.5 ×.
const CASES = [
  { downMbit: 4, peakMbit: 12, boostBytes: 2_000_000 },
  { downMbit: 10, peakMbit: 40, boostBytes: 8_000_000 },
  { downMbit: 20, peakMbit: 50, boostBytes: 20_000_000 },
];

describe('throughput through an operator boost (network lab, tbf burst and peakrate)', () => {
  let stack: LabStack;
  beforeAll(async () => {
    stack = await createLabStack();
  });
  afterAll(async () => {
    await stack?.destroy();
  });

  for (const c of CASES) {
    it(`reads the sustained ${c.downMbit} Mbit/s past a ${c.boostBytes / 1e6} MB boost at ${c.peakMbit} Mbit/s, and reports the boost`, async () => {
      for (const method of ['ndt7', 'http'] as const) {
        // A fresh qdisc is a full bucket: each test meets the whole boost, as after hours of rest.
        await stack.lab.shape({ downMbit: c.downMbit, upMbit: 5, boost: { boostBytes: c.boostBytes, peakMbit: c.peakMbit } });
        const { results } = await stack.measure(method, 'directions: [download]');
        const r = results[0] as Throughput;
        const context = `${method}: ${JSON.stringify(r.fields)} ${r.detail ?? ''}`;
        expect(r.code, context).toBe('ok');
        expect(r.fields.mbps! / c.downMbit, context).toBeGreaterThan(0.9);
        expect(r.fields.mbps! / c.downMbit, context).toBeLessThan(1.1);
        expect(r.fields.boost, context).toBe(true);
        expect(r.fields.boost_peak_mbps! / c.peakMbit, context).toBeGreaterThan(0.75);
        expect(r.fields.boost_peak_mbps! / c.peakMbit, context).toBeLessThan(1.1);
        // The bucket, plus what refilled while it emptied.
        expect(r.fields.boost_bytes!, context).toBeGreaterThan(c.boostBytes * 0.9);
        expect(r.fields.boost_bytes!, context).toBeLessThan(c.boostBytes * (c.peakMbit / (c.peakMbit - c.downMbit)) * 1.3);
        expect(r.fields.curve_kbps!.split(',').length, context).toBeGreaterThan(8);
        expect(r.fields.bytes, context).toBeGreaterThan(r.fields.boost_bytes!);
      }
    });
  }
});
