// `status` and `doctor` against real files and a real HTTP server on loopback standing in for the collector.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Result } from '../../protocol/results.ts';
import { DurableQueue } from '../queue/durable-queue.ts';
import { inspectQueue } from '../queue/inspect.ts';
import { ensureDataDir, saveIdentity } from '../identity/identity.ts';
import { LastResultsWriter } from '../status/last-results.ts';
import { dataFiles } from '../platform/paths.ts';
import { acquireRunLock } from '../platform/run-lock.ts';
import { isBehind } from '../status/update-check.ts';
import { runDoctor, type Check } from './doctor.ts';
import { formatStatus, gatherStatus } from './status.ts';
import { strongToken } from '../../test/support/secrets.ts';

let dir: string;
let server: Server;
let url: string;
/** Shifts the Date header the fake collector sends. */
let clockSkewMs = 0;
let healthStatus = 200;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'songcheck-status-'));
  clockSkewMs = 0;
  healthStatus = 200;
  server = createServer((req, res) => {
    res.sendDate = false;
    res.setHeader('date', new Date(Date.now() + clockSkewMs).toUTCString());
    res.writeHead(req.url === '/healthz' ? healthStatus : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: healthStatus === 200 ? 'ok' : 'degraded', version: '9.9.9' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function enrollFake(collectorUrl = url) {
  ensureDataDir(dir);
  saveIdentity(dir, { deviceId: 'dev-1', token: strongToken(), collectorUrl, site: { code: 'LC-0001', name: 'Điểm trường Bản Xèo' }, enrolledAt: Date.now() - 3_600_000 });
}

const tcp = (i: number, measuredAt: number): Result => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  probe: 'tcp',
  target: '127.0.0.1:443',
  measuredAt,
  code: 'ok',
  fields: { sent: 1, received: 1, loss_pct: 0, rtt_min_ms: 1, rtt_max_ms: 1, rtt_median_ms: 1, rtt_mean_ms: 1, rtt_p95_ms: 1 },
});

const verdicts = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.name, c.verdict]));

describe('status', () => {
  it('shows site, reachable collector, queue read without the lock, last results, and the version behind', async () => {
    enrollFake();
    const t0 = Date.now() - 600_000;
    // A queue the (pretend) running agent holds open: status must read it without taking it over.
    const queue = DurableQueue.open<Result>({ dir: dataFiles(dir).queue, maxBytes: 2 ** 20 });
    for (let i = 0; i < 5; i++) queue.append(tcp(i, t0 + i * 1000));
    const { next } = queue.peek(2);
    queue.ack(next);
    const release = acquireRunLock(dir);
    const last = new LastResultsWriter(dir, '0.1.0', Date.now, () => {});
    last.result(tcp(4, t0 + 4000));
    last.uploaded('9.0.0');

    const s = await gatherStatus({ dataDir: dir, env: {}, timeoutMs: 2000 });
    expect(s).toMatchObject({
      enrolled: true,
      site: { code: 'LC-0001' },
      collector: { url, reachable: true, status: 200, collectorVersion: '9.9.9' },
      running: { pid: process.pid },
      queue: { depth: 3, cursor: 'ok' },
      dataBudget: 'not measured yet',
      clockOffset: 'unknown',
      recommendedAgentVersion: '9.0.0',
      behind: true,
    });
    expect(s.queue!.oldestMeasuredAt).toBe(t0 + 2000);
    expect(s.queue!.oldestUnsentAgeS).toBeGreaterThanOrEqual(590);
    expect(s.lastResults).toEqual([expect.objectContaining({ probe: 'tcp', code: 'ok', figures: expect.stringContaining('median 1.0 ms') })]);
    const text = formatStatus(s);
    expect(text).toMatch(/site:\s+LC-0001/);
    expect(text).toContain('UPDATE NEEDED');
    expect(text).toMatch(/queue:\s+3 result\(s\)/);
    // What status read changed nothing: the agent's queue still has its 3 records and accepts more.
    queue.append(tcp(9, Date.now()));
    expect(queue.stats().depth).toBe(4);
    expect(inspectQueue(dataFiles(dir).queue)!.depth).toBe(4);
    queue.close();
    release();
  });

  it('shows the data budget when a ledger exists, and a collector that is down', async () => {
    enrollFake('http://127.0.0.1:1');
    // The ledger as agent/probes/throughput/budget.ts writes it.
    writeFileSync(join(dir, 'throughput-budget.json'), JSON.stringify({ version: 1, month: '2025-09', usedBytes: 52_428_800, tests: 3, reserved: {} }));
    const s = await gatherStatus({ dataDir: dir, env: {}, timeoutMs: 2000 });
    expect(s.collector.reachable).toBe(false);
    expect(s.dataBudget).toMatchObject({ usedBytes: 52_428_800 });
    expect(formatStatus(s)).toMatch(/data budget:\s+50\.0 MiB used by throughput tests in 2025-09 \(3 tests\)/);
    expect(formatStatus(s)).toContain('NOT reachable');
  });
});

describe('doctor', () => {
  it('passes on a healthy setup (clock compared with the collector)', async () => {
    enrollFake();
    const release = acquireRunLock(dir);
    const checks = await runDoctor({ dataDir: dir, env: {}, timeoutMs: 2000, checkPing: false });
    release();
    expect(verdicts(checks)).toEqual({ 'data directory': 'ok', enrollment: 'ok', configuration: 'ok', DNS: 'ok', collector: 'ok', clock: 'ok', 'disk space': 'ok', 'agent process': 'ok', version: 'ok' });
    expect(checks.find((c) => c.name === 'clock')!.detail).toMatch(/collector's clock/);
  });

  it('says what to fix: readable data directory, bad config, clock off, collector down, agent not running', async () => {
    enrollFake();
    chmodSync(dir, 0o755);
    writeFileSync(dataFiles(dir).config, 'upload: { batchSize: 0 }\n');
    clockSkewMs = -3_600_000;
    const checks = await runDoctor({ dataDir: dir, env: {}, timeoutMs: 2000, checkPing: false });
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(by['data directory']).toMatchObject({ verdict: 'fail', fix: `chmod 700 ${dir}` });
    expect(by.configuration).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('upload.batchSize') });
    expect(by.clock).toMatchObject({ verdict: 'fail', detail: expect.stringMatching(/^360[01] s ahead of/), fix: expect.stringContaining('timedatectl set-ntp true') });
    expect(by['agent process']).toMatchObject({ verdict: 'warn', fix: expect.stringContaining('systemctl start songcheck-agent') });

    healthStatus = 503;
    expect((await runDoctor({ dataDir: dir, env: {}, timeoutMs: 2000, checkPing: false })).find((c) => c.name === 'collector')!.verdict).toBe('warn');
    await new Promise((r) => server.close(r));
    const down = await runDoctor({ dataDir: dir, env: {}, timeoutMs: 2000, checkPing: false });
    expect(down.find((c) => c.name === 'collector')).toMatchObject({ verdict: 'fail', fix: expect.stringContaining('4G router') });
    server = createServer().listen(0);
  });

  it('fails DNS for a name that does not resolve, and enrollment when there is none', async () => {
    ensureDataDir(dir);
    writeFileSync(dataFiles(dir).config, 'collectorUrl: http://songcheck.invalid:8080\n');
    const checks = await runDoctor({ dataDir: dir, env: {}, timeoutMs: 3000, checkPing: false, platform: 'win32' });
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(by.enrollment!.verdict).toBe('fail');
    expect(by.DNS).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('songcheck.invalid') });
    expect(by['agent process']!.fix).toContain('sc start songcheck-agent');
  });
});

describe('isBehind', () => {
  it('compares semver and says nothing without a valid recommendation', () => {
    expect(isBehind('0.1.0', '0.2.0')).toBe(true);
    expect(isBehind('0.10.0', '0.9.1')).toBe(false);
    expect(isBehind('1.0.0-rc.1', '1.0.0')).toBe(true);
    expect(isBehind('0.1.0', '0.1.0')).toBe(false);
    expect(isBehind('0.1.0', undefined)).toBeUndefined();
    expect(isBehind('0.1.0', 'latest')).toBeUndefined();
  });
});
