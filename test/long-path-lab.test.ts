// Long paths in the network lab: the TUN delay line (test/lab/delay-line.ts) adds round-trip time between the
// collector's namespace and the agent's, tbf shapes the rate on the TUN devices. Both methods must read within
// ±10 % of iperf3 on the same link, at round trips up to a geostationary satellite's 600 ms.
// Congestion control: songcheck's sockets and iperf3's use the same, the namespaces' default (this machine's,
// BBR), so the ratio compares the methods, not the senders. A loss-based sender (SONGCHECK_LAB_TCP_CC=reno) needs
// the queue of a real cell (queueMs = RTT below) to keep a 600 ms path full; BBR needs less.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '../protocol/results.ts';
import { createLabStack, type LabStack } from './lab/lab-stack.ts';

type Throughput = Extract<Result, { probe: 'throughput' }>;

// Few, telling cases: a provincial 4G path, a cell far from the server, a satellite site.
const CASES: { rttMs: number; downMbit: number; upMbit: number; jitterMs?: number }[] = [
  { rttMs: 100, downMbit: 40, upMbit: 10 },
  // With jitter: each packet ±10 ms, order kept (as a cell's RLC delivers).
  { rttMs: 300, downMbit: 20, upMbit: 5, jitterMs: 20 },
  { rttMs: 600, downMbit: 10, upMbit: 2 },
];

describe('throughput on long paths (network lab, TUN delay line)', () => {
  let stack: LabStack;
  beforeAll(async () => {
    stack = await createLabStack();
  });
  afterAll(async () => {
    await stack?.destroy();
  });

  for (const c of CASES) {
    it(`ndt7 and http read within ±10 % of iperf3 at ${c.rttMs} ms${c.jitterMs ? ` ± ${c.jitterMs / 2} ms` : ''}, ${c.downMbit} down / ${c.upMbit} up Mbit/s`, async () => {
      // Cell buffers are deep: a 50 ms tbf queue on a 600 ms path would starve TCP as no real cell does.
      await stack.lab.shape({ downMbit: c.downMbit, upMbit: c.upMbit, queueMs: Math.max(50, c.rttMs) });
      await stack.lab.setDelay({ rttMs: c.rttMs, jitterMs: c.jitterMs ?? 0 });
      // iperf3 leaves out slow start: about eight round trips.
      const omit = Math.max(1, Math.ceil((c.rttMs / 1000) * 8));
      const reference = { download: await stack.iperf3('download', 4, omit), upload: await stack.iperf3('upload', 4, omit) };
      for (const method of ['ndt7', 'http'] as const) {
        const { results, output } = await stack.measure(method);
        for (const r of results as Throughput[]) {
          const ref = reference[r.direction];
          const context = `${method} ${r.direction} at ${c.rttMs} ms: iperf3 ${ref.toFixed(2)}, ${JSON.stringify(r.fields)} ${r.detail ?? ''}\n${output.slice(0, 300)}`;
          expect(r.code, context).toBe('ok');
          expect(r.fields.mbps! / ref, context).toBeGreaterThan(0.9);
          expect(r.fields.mbps! / ref, context).toBeLessThan(1.1);
          // The delay line adds what it was asked (the agent's TCP-connect round trip, before the transfer). With
          // jitter the least it adds is exactly rtt − jitter/2, and the agent's clock reads were taken around the
          // packets, not at them: a CI run read 289.978 ms for a 290 ms minimum. 1 ms covers that, not a short delay.
          expect(r.fields.idle_rtt_ms!, context).toBeGreaterThanOrEqual(c.rttMs - (c.jitterMs ?? 0) / 2 - 1);
          expect(r.fields.idle_rtt_ms!, context).toBeLessThan(c.rttMs + 40);
        }
        expect(results.map((r) => (r as Throughput).direction).sort()).toEqual(['download', 'upload']);
      }
      const stats = await stack.lab.delayStats();
      expect(stats!.forwarded.serverToClient).toBeGreaterThan(0);
      // iperf3 twice, four engine runs, each a few round trips of set-up: minutes at 600 ms.
    }, 240_000);
  }
});
