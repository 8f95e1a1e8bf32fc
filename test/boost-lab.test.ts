// Operators' boosts in the network lab: tbf with a large bucket (burst) emptied at a peak rate, then the
// sustained rate (test/lab/netlab.ts tbfArgs). The figure is the rate after the boost, within ±10 % of the
// shaped sustained rate; the boost is reported with its peak and the bytes it lasted. The first test of the
// agent is a learning test (it finds the boost); the next, with the other method, runs past the learned boost.
//
// Congestion control: none of these bounds depends on it. Under this machine's default (BBR, inherited by the
// lab's namespaces) and under Reno (SONGCHECK_LAB_TCP_CC=reno; CUBIC cannot be a namespace's default here, see
// netlab.ts) the 8 MB case read the same: sustained 0.956 of the shaped rate, the boost's bins flat at ~35.8
// Mbit/s, i.e. tbf's own effective peak rate is ~0.9 of its nominal `peakrate` whichever sender fills it. What the
// peak bound (≥ 0.75 of nominal) does assume is CPU: the collector's ndt7 server and the agent, both Node
// processes, must move 40 Mbit/s during the boost. When starved (the whole suite beside this file, load ~30)
// the link idles inside the boost and bytes over time reads low (the one failure seen, in such a run; not
// reproduced in 9 runs at load 10–14, two of them under nice 19): a few starved bins of the nine are enough.
// The sustained figure, at a quarter of that rate, is not affected. Each result's figures and curve are logged,
// so a failure shows whether the curve has holes (starved) or a misplaced step (a defect).
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
        const f = r.fields;
        console.log(`[boost-lab] ${c.boostBytes / 1e6} MB at ${c.peakMbit} over ${c.downMbit} Mbit/s, ${method}: sustained ${(f.mbps! / c.downMbit).toFixed(3)} of shaped, peak ${((f.boost_peak_mbps ?? 0) / c.peakMbit).toFixed(3)} of ${c.peakMbit}, boost ${((f.boost_bytes ?? 0) / 1e6).toFixed(2)} MB in ${f.boost_ms ?? '?'} ms, curve ${f.curve_kbps?.split(',').slice(0, 14).join(',')}`);
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
