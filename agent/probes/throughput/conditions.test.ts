// Before a test: a busy line postpones it, the last try of a scheduled test runs (flagged), a confirmation never
// runs on a busy line. The interface counters are injected (this computer's own traffic: 4 Mbit/s).
import { describe, expect, it } from 'vitest';
import { ThroughputOptions } from '../../../protocol/probe-options/throughput.ts';
import type { RunSlot } from '../types.ts';
import { beforeTest, postponeDetail } from './conditions.ts';

const options = ThroughputOptions.parse({ busyLine: { watchSeconds: 0.5 }, lanAttribution: false });

/** Counters that move 4 Mbit/s: 500 000 bytes a second of (fake) wall time per read. */
function busyCounters() {
  let reads = 0;
  return async () => ({ at: Date.now() + reads * 1000, bytes: 500_000 * reads++ });
}

async function before(slot: RunSlot) {
  return beforeTest({ options, slot, signal: new AbortController().signal, now: Date.now, counters: busyCounters() });
}

describe('a busy line before a test', () => {
  it('postpones a scheduled test until its last try, which runs', async () => {
    const first = await before({ kind: 'scheduled', postponed: 0, lastTry: false });
    expect(first.busy?.busy).toBe(true);
    expect(first.postpone).toBe(true);
    expect(postponeDetail(first, options, { kind: 'scheduled', postponed: 0, lastTry: false })).toMatch(/postponed 15 min, try 1 of 4/);
    const last = await before({ kind: 'retry', postponed: 3, lastTry: true });
    expect(last.postpone).toBe(false);
    expect(last.fields.busy).toBe(true);
  });

  it('never runs a confirmation: its last try is given up', async () => {
    const slot: RunSlot = { kind: 'confirmation', postponed: 3, lastTry: true, confirms: 'bad-test-0001', confirmsMbps: 3 };
    const c = await before(slot);
    expect(c.postpone).toBe(true);
    expect(postponeDetail(c, options, slot)).toMatch(/confirmation given up/);
  });
});
