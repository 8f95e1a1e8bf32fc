// Fault test: the collector unreachable for 24 hours, on a fake clock. The real uploader and durable queue
// run in this process against a real collector (behind a proxy that refuses every connection for the
// 24 fake hours) and real InfluxDB. Results keep arriving at the agent's default rate meanwhile.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Result } from '../protocol/results.ts';
import { DurableQueue } from '../agent/queue/durable-queue.ts';
import { loadIdentity } from '../agent/identity/identity.ts';
import { loadOrCreateSigningKey, signResults } from '../agent/identity/signing-key.ts';
import { Uploader } from '../agent/upload/uploader.ts';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';
import { eventually, killAll } from './support/processes.ts';
import { createStack, type Stack } from './support/stack.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('unreachable24h');
const HOUR = 3_600_000;
const OUTAGE_MS = 24 * HOUR;
// The agent's defaults (agent/config.ts): 5 s first wait, doubling to 15 min.
const BACKOFF = { initialMs: 5_000, maxMs: 900_000 };
const CAP_BYTES = 1 * 2 ** 20;
let stack: Stack;
let proxy: FaultProxy;
let tmp: string;

beforeAll(async () => {
  await createDb(influxUrl, db);
  stack = await createStack({ influxUrl, db, siteCode: 'DOWN-24H' });
  await stack.startCollector();
  proxy = await startFaultProxy(Number(new URL(stack.collectorUrl).port), 'refuse');
  tmp = mkdtempSync(join(tmpdir(), 'unreachable-24h-'));
});
afterAll(async () => {
  await proxy?.close();
  await killAll();
  stack?.cleanup();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/**
 * The most attempts equal-jitter backoff allows in `windowMs`: each wait after the k-th consecutive failure
 * is at least half of min(max, initial * 2^(k-1)); count the attempts that fit when every wait is shortest.
 */
function maxAttemptsIn(windowMs: number): number {
  let t = 0;
  let attempts = 1;
  for (let k = 1; k < 1_000_000; k++) {
    t += Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** Math.min(30, k - 1)) / 2;
    if (t > windowMs) break;
    attempts++;
  }
  return attempts;
}
/** The fewest: every wait is the longest (the full exponential step). */
function minAttemptsIn(windowMs: number): number {
  let t = 0;
  let attempts = 1;
  for (let k = 1; k < 1_000_000; k++) {
    t += Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** Math.min(30, k - 1));
    if (t > windowMs) break;
    attempts++;
  }
  return attempts;
}

describe('collector unreachable for 24 hours (fake clock)', () => {
  it('after it returns 100 % delivered, queue within its cap, connection attempts bounded by the backoff', async () => {
    const agentDir = await stack.enrollAgent('agent');
    const identity = loadIdentity(agentDir);
    // The agent registered its key at enrollment, so the collector refuses unsigned batches from it (409).
    const signingKey = loadOrCreateSigningKey(agentDir);
    // Fake time starts 25 h ago so nothing is ahead of the collector's real clock.
    const t0 = Date.now() - OUTAGE_MS - HOUR;
    let clock = t0;
    const queue = DurableQueue.open<Result>({ dir: join(tmp, 'queue'), maxBytes: CAP_BYTES, now: () => clock });
    const produced: string[] = [];
    let maxDiskBytes = 0;
    let nextResultAt = t0;
    // The default schedule's rate: tcp and http every 5 min, agent health every 5 min, an uptime slot every 15.
    const produceUntil = (t: number) => {
      for (let guard = 0; nextResultAt <= t && guard < 100_000; guard++, nextResultAt += 5 * 60_000) {
        const batch: Result[] = [
          { id: randomUUID(), probe: 'tcp', target: 'collector:443', measuredAt: nextResultAt, code: 'ok', fields: { sent: 5, received: 5, loss_pct: 0, rtt_median_ms: 42 } },
          { id: randomUUID(), probe: 'http', target: 'https://collector/api/v1/ping', measuredAt: nextResultAt + 1, code: 'ok', fields: { total_ms: 120, status: 200 } },
          { id: randomUUID(), probe: 'agent_health', target: 'self', measuredAt: nextResultAt + 2, code: 'ok', fields: { queue_depth: queue.stats().depth, queue_bytes: queue.stats().bytes, evicted_total: 0, skipped_corrupt_total: 0, rejected_total: 0, append_failed_total: 0, upload_failures: 0, uptime_s: (nextResultAt - t0) / 1000, rss_mb: 50 } },
        ];
        if ((nextResultAt - t0) % (15 * 60_000) === 0) {
          batch.push({ id: randomUUID(), probe: 'uptime', target: 'link', measuredAt: nextResultAt, code: 'ok', fields: { checks: 15, checks_up: 0, checks_collector_down: 15, checks_dns_down: 0, checks_link_down: 0, observed_s: 900, up_s: 900 } });
        }
        for (const r of batch) {
          queue.append(r);
          produced.push(r.id);
          maxDiskBytes = Math.max(maxDiskBytes, queue.stats().diskBytes);
        }
      }
    };
    let back: () => void = () => {};
    const collectorBack = new Promise<void>((r) => (back = r));
    let returned = false;
    let reachedEnd: () => void = () => {};
    const outageOver = new Promise<void>((r) => (reachedEnd = r));
    const uploader = new Uploader(queue, {
      collectorUrl: proxy.url,
      token: identity.token,
      agentVersion: '0.0.0-test',
      prepare: (records) => signResults(identity.deviceId, signingKey, records),
      batchSize: 200,
      intervalMs: 60_000,
      timeoutMs: 10_000,
      backoffInitialMs: BACKOFF.initialMs,
      backoffMaxMs: BACKOFF.maxMs,
      now: () => clock,
      onFailure: (f) => {
        if (returned) console.log(`[unreachable-24h] after the return: ${f.message}`);
      },
      // Fake time: a wait moves the clock (and the producer) forward; at 24 h it holds until the collector is back.
      sleep: async (ms, signal) => {
        if (signal.aborted) return;
        const target = Math.round(clock + ms);
        if (!returned && target >= t0 + OUTAGE_MS) {
          produceUntil(t0 + OUTAGE_MS);
          clock = t0 + OUTAGE_MS;
          reachedEnd();
          await collectorBack;
        }
        clock = Math.max(clock, target);
        // The 24 hours' results are what is measured; after the return nothing more is added.
        if (!returned) produceUntil(clock);
        await new Promise((r) => setImmediate(r));
      },
    });
    const stop = new AbortController();
    produceUntil(clock);
    const running = uploader.run(stop.signal);
    try {
      await outageOver;
    } catch (err) {
      stop.abort();
      throw err;
    }

    const attemptsIn24h = proxy.connections.refuse;
    expect(uploader.stats.attempts).toBe(attemptsIn24h);
    expect(proxy.connections.forward).toBe(0);
    const [lo, hi] = [minAttemptsIn(OUTAGE_MS), maxAttemptsIn(OUTAGE_MS)];
    const pendingAtReturn = queue.stats().depth;
    proxy.mode = 'forward';
    returned = true;
    back();

    try {
      await eventually(() => (queue.stats().depth === 0 && uploader.stats.consecutiveFailures === 0 ? true : undefined), 120_000, 'the queue to drain');
    } finally {
      stop.abort();
      back();
      await running;
    }
    const evicted = queue.stats().evictedTotal;
    queue.close();

    const stored = new Set((await influxQuery(influxUrl, db, `SELECT result_id FROM /.*/ WHERE site = 'DOWN-24H'`)).map((r) => String(r.result_id)));
    const delivered = produced.filter((id) => stored.has(id)).length;
    console.log(
      `[unreachable-24h] attempts in 24 h=${attemptsIn24h} (backoff allows ${lo}..${hi}) results=${produced.length} pending at return=${pendingAtReturn} ` +
        `max queue=${maxDiskBytes} B of cap ${CAP_BYTES} B delivered=${delivered} (${((100 * delivered) / produced.length).toFixed(1)} %)`,
    );
    expect(attemptsIn24h).toBeGreaterThanOrEqual(lo);
    expect(attemptsIn24h).toBeLessThanOrEqual(hi);
    expect(pendingAtReturn).toBeGreaterThan(24 * 12 * 3);
    expect(maxDiskBytes).toBeLessThanOrEqual(CAP_BYTES);
    expect(evicted).toBe(0);
    expect(delivered).toBe(produced.length);
  }, 300_000);
});
