// A busy line in the network lab: iperf3 downloads through the shaped link from the agent's own namespace
// while the agent tests. The test must see the line busy before it starts (RTT inflation against the idle
// baseline a quiet test taught it, and this computer's own interface counters), report the traffic beside it,
// and flag the result so verdicts leave it out. `measure` is a person's request: it is tested and flagged,
// never postponed (postponing scheduled tests is the plan's, covered in follow-up.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '../protocol/results.ts';
import { createLabStack, type LabStack } from './lab/lab-stack.ts';

type Throughput = Extract<Result, { probe: 'throughput' }>;
const DOWNLOAD_ONLY = 'directions: [download], maxDurationSeconds: 8';

describe('busy line (network lab)', () => {
  let stack: LabStack;
  beforeAll(async () => {
    stack = await createLabStack();
    // A cell's deep buffer (200 ms at the rate), as 4G uplinks and downlinks have.
    await stack.lab.shape({ downMbit: 8, upMbit: 4, queueMs: 200 });
    // A default route, so the agent finds "its" interface and reads its counters (the route's gateway is the
    // collector itself, so LAN attribution stays out of it).
    const r = await stack.lab.execIn('client', 'ip', ['route', 'add', 'default', 'via', stack.lab.serverIp], 10_000);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await stack?.destroy();
  });

  it('a quiet line is not busy, and teaches the idle baseline', async () => {
    // One quiet test: its 5 idle connects are the baseline's minimum (BASELINE_MIN_SAMPLES).
    for (let i = 0; i < 1; i++) {
      const { results } = await stack.measure('ndt7', DOWNLOAD_ONLY);
      const r = results[0] as Throughput;
      expect(r.code, JSON.stringify(r)).toBe('ok');
      expect(r.fields.busy).toBeUndefined();
      expect(r.fields.cross_traffic).toBeUndefined();
      expect(r.fields.busy_iface_mbps).toBeLessThan(0.5);
      expect(r.fields.cross_traffic_mbps).toBeLessThan(0.5);
      expect(r.fields.lan_bottleneck).toBeUndefined();
    }
  });

  it('competing iperf3 traffic makes the line busy before the test and is reported beside it', async () => {
    // Another PC's download with CUBIC, Windows' default and what a loss-based server sends with: it keeps the
    // cell's queue full. (Under this machine's default, BBR, the standing queue is a few packets and the idle RTT
    // hardly rises; the interface counters still see it, which the result below also checks.)
    const competing = stack.iperf3('download', 25, 0, 'cubic');
    try {
      await new Promise((r) => setTimeout(r, 4_000));
      const { results, output } = await stack.measure('ndt7', DOWNLOAD_ONLY);
      const r = results[0] as Throughput;
      const context = `${JSON.stringify(r.fields)}\n${output.slice(0, 300)}`;
      expect(r.fields.busy, context).toBe(true);
      expect(r.fields.cross_traffic, context).toBe(true);
      // The agent's own interface carried iperf3's download: most of the 8 Mbit/s before the test.
      expect(r.fields.busy_iface_mbps!, context).toBeGreaterThan(3);
      // tbf's 200 ms queue, kept full by CUBIC: the idle RTT rose far above the quiet baseline.
      expect(r.fields.busy_rtt_inflation_ms!, context).toBeGreaterThan(20);
      // Beside the test, iperf3 kept part of the link.
      expect(r.fields.cross_traffic_mbps!, context).toBeGreaterThan(1);
    } finally {
      await competing.catch(() => undefined);
    }
  });
});
