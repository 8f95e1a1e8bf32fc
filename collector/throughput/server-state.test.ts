// The test server's state during a test: a real HTTP download from this collector's throughput service on
// loopback, with the collector's event loop blocked mid-test (fault injection), is stored as served below
// full rate, and the agent's result for that test gets the server_* fields at ingest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '../../protocol/results.ts';
import { resultToPoint } from '../influx/points.ts';
import { annotateServerState } from './server-state-fields.ts';
import { SERVER_LIMITS, summarizeWindow } from './server-state.ts';
import type { ThroughputService } from './service.ts';
import { startThroughputTestServer, type ThroughputTestServer } from './service.test-support.ts';

let fixture: ThroughputTestServer;
let service: ThroughputService;
let base: string;
let token: string;
let deviceId: string;

beforeAll(async () => {
  fixture = await startThroughputTestServer({
    scheme: 'http',
    seed: async (registry) => {
      await registry.addSite({ code: 'SS-1', name: 'server state site' });
      const enrolled = await registry.enroll((await registry.createEnrollmentCode('SS-1')).code);
      token = enrolled.token;
      deviceId = enrolled.deviceId;
    },
  });
  ({ service, base } = fixture);
});
afterAll(async () => {
  await fixture?.close();
});

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* the collector's event loop is stuck, as under a CPU-heavy request */
  }
}

describe('server state during a test', () => {
  it('flags a download served while the event loop was blocked, and ingest adds it to the result', async () => {
    const measuredAt = Date.now();
    const res = await fetch(`${base}/api/v1/throughput/download?bytes=${8 * 1024 * 1024}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let got = 0;
    for (let i = 0; i < 10_000; i++) {
      const { done, value } = await reader.read();
      if (done) break;
      got += value.length;
      if (i === 3) {
        // Let the sampler see the stall (it samples every 500 ms), then keep reading.
        busy(300);
        await new Promise((r) => setTimeout(r, 600));
      }
    }
    expect(got).toBe(8 * 1024 * 1024);
    // The slot is given back (and the state stored) when the server sees the stream end.
    let state = await service.serverStates.lookup(deviceId, 'download', measuredAt);
    for (let i = 0; i < 50 && !state; i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = await service.serverStates.lookup(deviceId, 'download', measuredAt);
    }
    expect(state).toMatchObject({ limited: true, limitedBy: 'event_loop', concurrentMax: 1 });
    expect(state!.eldP99Ms).toBeGreaterThanOrEqual(SERVER_LIMITS.eldP99Ms);
    expect(await service.serverStates.lookup(deviceId, 'upload', measuredAt)).toBeUndefined();

    const result: Result = {
      id: 'tp-server-state-1',
      probe: 'throughput',
      method: 'http_multistream',
      direction: 'download',
      target: base,
      measuredAt,
      code: 'ok',
      fields: { mbps: 10, bytes: got, budget_bytes: got, duration_ms: 1000, warmup_ms: 0, streams: 1, server: 'x', stopped_early: false, stop_reason: 'byte_cap', byte_cap: got },
    };
    const point = resultToPoint(result, { deviceId, site: { code: 'SS-1' } });
    (await annotateServerState(service.serverStates, deviceId, [result]))(result, point);
    const line = point.toLineProtocol()!;
    expect(line).toContain('server_limited=T');
    expect(line).toContain('server_limited_by="event_loop"');
    expect(line).toMatch(/server_concurrent_tests=1\b/);
    // Another device's result, or an M-Lab test, gets nothing.
    const other = resultToPoint(result, { deviceId: 'someone-else', site: { code: 'SS-1' } });
    (await annotateServerState(service.serverStates, 'someone-else', [result]))(result, other);
    expect(other.toLineProtocol()).not.toContain('server_');
  });

  it('names the first limit reached: the event loop, then CPU, then a full server', async () => {
    const s = (cpuPct: number, eldP99Ms: number, running: number) => ({ at: 0, cpuPct, processCpuPct: 0, eldP99Ms, eldMaxMs: eldP99Ms, running });
    expect(summarizeWindow([s(95, 0, 1), s(90, 0, 1)], 8)).toMatchObject({ limited: true, limitedBy: 'cpu', cpuMeanPct: 92.5 });
    expect(summarizeWindow([s(95, 60, 1)], 8)).toMatchObject({ limited: true, limitedBy: 'event_loop' });
    expect(summarizeWindow([s(20, 10, 8)], 8)).toMatchObject({ limited: true, limitedBy: 'concurrency' });
    expect(summarizeWindow([s(20, 10, 3)], 8)).toEqual({ concurrentMax: 3, cpuMeanPct: 20, cpuMaxPct: 20, processCpuMaxPct: 0, eldP99Ms: 10, limited: false });
    expect(summarizeWindow([], 8)).toBeUndefined();
  });
});
