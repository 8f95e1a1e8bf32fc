// The school's own network as the bottleneck, in the lab: a router namespace between the collector and the
// agent. The "operator" side is wide (40/20 Mbit/s) and the LAN side (the PC's link to the router) narrow
// (4/2 Mbit/s): the queue builds between the PC and the router, so the router's round trip rises with the
// server's, and every result must say the LAN was the likely bottleneck. With the narrow link on the operator
// side instead, no result may blame the LAN.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '../protocol/results.ts';
import { createLabStack, type LabStack } from './lab/lab-stack.ts';
import { createRouterLab, type RouterLab } from './lab/router-lab.ts';

type Throughput = Extract<Result, { probe: 'throughput' }>;

describe('the school’s LAN as the bottleneck (network lab with a router)', () => {
  let stack: LabStack;
  let lab: RouterLab;
  beforeAll(async () => {
    stack = await createLabStack({ lab: async () => (lab = await createRouterLab()) });
  });
  afterAll(async () => {
    await stack?.destroy();
  });

  it('a LAN narrower than the operator side is named as the bottleneck, with the router’s rising round trip', async () => {
    await lab.shape({ downMbit: 40, upMbit: 20 });
    await lab.shapeLan({ downMbit: 4, upMbit: 2 });
    const { results, output } = await stack.measure('ndt7', 'maxDurationSeconds: 8');
    const tp = results as Throughput[];
    const context = `${JSON.stringify(tp.map((r) => r.fields))}\n${output.slice(0, 300)}`;
    expect(tp.map((r) => r.code), context).toEqual(['ok', 'ok']);
    for (const r of tp) {
      expect(r.fields.gateway_rtt_ms, context).toBeDefined();
      expect(r.fields.lan_bottleneck, context).toBe(true);
      expect(r.fields.lan_reason, context).toMatch(/round trip to the school's router rose from/);
      expect(r.fields.gateway_loaded_rtt_ms! - r.fields.gateway_rtt_ms!, context).toBeGreaterThan(20);
    }
  });

  it('an operator side narrower than the LAN blames nothing on the school', async () => {
    await lab.shapeLan({ downMbit: 40, upMbit: 20 });
    await lab.shape({ downMbit: 4, upMbit: 2 });
    const { results, output } = await stack.measure('ndt7', 'maxDurationSeconds: 8');
    const tp = results as Throughput[];
    const context = `${JSON.stringify(tp.map((r) => r.fields))}\n${output.slice(0, 300)}`;
    expect(tp.map((r) => r.code), context).toEqual(['ok', 'ok']);
    for (const r of tp) {
      expect(r.fields.lan_bottleneck, context).toBeUndefined();
      // The server's queue rose; the router's did not. The ndt7 server and the agent send with this machine's
      // congestion control; under BBR the standing queue is a few packets (3 ms each at 4 Mbit/s), so "rose" is
      // more than one packet's worth, not tens of ms.
      expect(r.fields.loaded_rtt_median_ms! - r.fields.idle_rtt_ms!, context).toBeGreaterThan(5);
      expect(r.fields.gateway_loaded_rtt_ms! - r.fields.gateway_rtt_ms!, context).toBeLessThan(10);
    }
  });
});
