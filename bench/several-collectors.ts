// Several collectors on PostgreSQL (issue 18) against one collector on SQLite, in the same run, on the same
// InfluxDB: ingest through the collectors, control-channel handshakes (authenticate, welcome), and what
// crossing machines costs: a revocation made on B until A closes the device's socket, and a site's
// throughput lease released on A until B grants it to another device of the site (p50/p99).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { CONTROL_PATH } from '../protocol/control.ts';
import type { Result } from '../protocol/results.ts';
import { freePort } from '../scripts/free-port.ts';
import { startInfluxd } from '../scripts/influxd-server.ts';
import { startPostgres } from '../scripts/postgres-server.ts';
import { COLLECTOR_BIN, enrollmentCode, runBin, timedJobs } from './harness.ts';
import { strongToken } from '../test/support/secrets.ts';

const ADMIN = strongToken();
const TEST_TOKEN_KEY = strongToken();
const SITE = 'MULTI-1';

export interface Setup {
  label: string;
  collectors: number;
  ingestPerSecond: number;
  stored: number;
  handshakeP50Ms: number;
  handshakeP99Ms: number;
}

export interface SeveralCollectorsResult {
  results: number;
  devices: number;
  sockets: number;
  setups: Setup[];
  revocation: { rounds: number; p50Ms: number; p99Ms: number; maxMs: number };
  leaseHandover: { rounds: number; p50Ms: number; p99Ms: number; maxMs: number; refused: number };
}

const OPTS = { devices: 20, batchesPerDevice: 20, batchSize: 200, concurrency: 8, sockets: 200, socketConcurrency: 20, rounds: 40 };

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! * 10) / 10 : NaN;
};

interface Collector {
  url: string;
  proc: ChildProcess;
}

async function startCollector(env: NodeJS.ProcessEnv, dataDir: string): Promise<Collector> {
  const port = await freePort();
  mkdirSync(dataDir, { recursive: true });
  const proc = spawn(process.execPath, [COLLECTOR_BIN, 'serve'], { env: { ...process.env, ...env, SONGCHECK_PORT: String(port), SONGCHECK_DATA_DIR: dataDir }, stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`collector exited ${proc.exitCode}`);
    if (await fetch(`${url}/healthz`).then(() => true, () => false)) return { url, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('collector did not answer /healthz within 30 s');
}

async function stopCollector(c: Collector): Promise<void> {
  if (c.proc.exitCode !== null) return;
  c.proc.kill('SIGTERM');
  await new Promise((r) => c.proc.once('exit', r));
}

async function enroll(url: string, code: string): Promise<{ deviceId: string; token: string }> {
  const res = await fetch(`${url}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  if (res.status !== 201) throw new Error(`enroll ${res.status}: ${await res.text()}`);
  return (await res.json()) as { deviceId: string; token: string };
}


/** Opens a control socket and waits for the welcome; resolves with the socket and the time it took. */
function openControl(url: string, token: string): Promise<{ ws: WebSocket; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}${CONTROL_PATH}`, { headers: { authorization: `Bearer ${token}` } });
    const timer = setTimeout(() => reject(new Error('no welcome within 30 s')), 30_000);
    ws.once('message', () => {
      clearTimeout(timer);
      resolve({ ws, ms: performance.now() - t0 });
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** One configuration: its collectors share `env`'s store; devices spread over them round-robin. */
async function measureSetup(label: string, collectors: Collector[], cli: (...args: string[]) => Promise<string>, influxUrl: string, db: string): Promise<Setup> {
  await cli('sites', 'add', '--code', SITE, '--name', 'Bench site', '--commune', 'Bản Xèo', '--operator', 'viettel', '--link-type', '4g');
  const code = enrollmentCode(await cli('enroll-code', '--site', SITE, '--uses', String(OPTS.devices + OPTS.sockets)));
  const at = (i: number) => collectors[i % collectors.length]!.url;
  const devices: { deviceId: string; token: string }[] = [];
  for (let d = 0; d < OPTS.devices; d++) devices.push(await enroll(at(d), code));
  const t0 = Date.UTC(2026, 9, 1);
  let n = 0;
  const bodies = devices.flatMap((device, d) =>
    Array.from({ length: OPTS.batchesPerDevice }, () => ({
      url: at(d),
      token: device.token,
      body: JSON.stringify({
        results: Array.from({ length: OPTS.batchSize }, (): Result => ({
          id: randomUUID(), probe: 'tcp', target: '203.113.131.1:443', measuredAt: t0 + n++, code: 'ok',
          fields: { sent: 5, received: 5, loss_pct: 0, rtt_min_ms: 31.2, rtt_median_ms: 35.8, rtt_mean_ms: 36.1, rtt_p95_ms: 44.0, rtt_max_ms: 44.0, jitter_ms: 3.2 },
        })),
      }),
    })),
  );
  const seconds = await timedJobs(bodies.length, OPTS.concurrency, async (i) => {
    const { url, token, body } = bodies[i]!;
    const res = await fetch(`${url}/api/v1/measurements`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    if (res.status !== 200) throw new Error(`collector ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  });
  const q = await fetch(`${influxUrl}/query?db=${db}&q=${encodeURIComponent('SELECT count(result_id) FROM latency')}`);
  const stored = ((await q.json()) as { results: { series?: { values: [number, number][] }[] }[] }).results[0]?.series?.[0]?.values[0]?.[1] ?? 0;

  // Control-channel handshakes: authenticate against the store, register presence, welcome.
  const socketDevices: { deviceId: string; token: string }[] = [];
  for (let d = 0; d < OPTS.sockets; d++) socketDevices.push(await enroll(at(d), code));
  const handshakes: number[] = [];
  const sockets: WebSocket[] = [];
  await timedJobs(OPTS.sockets, OPTS.socketConcurrency, async (i) => {
    const { ws, ms } = await openControl(at(i), socketDevices[i]!.token);
    handshakes.push(ms);
    sockets.push(ws);
  });
  for (const ws of sockets) ws.terminate();
  return { label, collectors: collectors.length, ingestPerSecond: Math.round(bodies.length * OPTS.batchSize / seconds), stored, handshakeP50Ms: pct(handshakes, 50), handshakeP99Ms: pct(handshakes, 99) };
}

/** Revoke on B, time until A closes the device's socket; a site's lease released on A, time until B grants it. */
async function measurePropagation(a: Collector, b: Collector, cli: (...args: string[]) => Promise<string>): Promise<Pick<SeveralCollectorsResult, 'revocation' | 'leaseHandover'>> {
  const code = enrollmentCode(await cli('enroll-code', '--site', SITE, '--uses', String(OPTS.rounds + 2)));
  const revocations: number[] = [];
  for (let i = 0; i < OPTS.rounds; i++) {
    const device = await enroll(a.url, code);
    const { ws } = await openControl(a.url, device.token);
    const closed = new Promise<number>((resolve) => ws.once('close', () => resolve(performance.now())));
    const t0 = performance.now();
    const res = await fetch(`${b.url}/api/v1/admin/devices/${device.deviceId}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    if (res.status !== 200) throw new Error(`revoke ${res.status}`);
    const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 10_000))]);
    if (Number.isNaN(at)) throw new Error('A did not close a revoked device\'s socket within 10 s');
    revocations.push(at - t0);
  }
  const [x, y] = [await enroll(a.url, code), await enroll(b.url, code)];
  const lease = async (url: string, token: string) => {
    const res = await fetch(`${url}/api/v1/throughput/lease`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"durationS":30}' });
    return (await res.json()) as { granted: boolean; leaseId?: string };
  };
  const release = (url: string, token: string, id: string) => fetch(`${url}/api/v1/throughput/lease/${id}/release`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const handovers: number[] = [];
  let refused = 0;
  for (let i = 0; i < OPTS.rounds; i++) {
    const held = await lease(a.url, x.token);
    if (!held.granted) throw new Error('the site lease was not free on A');
    await release(a.url, x.token, held.leaseId!);
    const t0 = performance.now();
    const got = await lease(b.url, y.token);
    if (!got.granted) {
      refused++;
      continue;
    }
    handovers.push(performance.now() - t0);
    await release(b.url, y.token, got.leaseId!);
  }
  const summary = (xs: number[]) => ({ rounds: xs.length, p50Ms: pct(xs, 50), p99Ms: pct(xs, 99), maxMs: Math.round(Math.max(...xs) * 10) / 10 });
  return { revocation: summary(revocations), leaseHandover: { ...summary(handovers), refused } };
}

export async function benchSeveralCollectors(): Promise<SeveralCollectorsResult> {
  const root = mkdtempSync(join(tmpdir(), 'songcheck-bench-multi-'));
  const influx = await startInfluxd({ databases: ['bench_sqlite', 'bench_postgres'] });
  const postgres = await startPostgres();
  const running: Collector[] = [];
  try {
    const base = { SONGCHECK_HOST: '127.0.0.1', SONGCHECK_INFLUX_URL: influx.url, SONGCHECK_ADMIN_TOKEN: ADMIN, SONGCHECK_TEST_TOKEN_KEY: TEST_TOKEN_KEY, SONGCHECK_LOG_LEVEL: 'warn', SONGCHECK_TEST_DATABASE: '', SONGCHECK_DATABASE_URL: '' };
    const setups: Setup[] = [];

    // Reference: one collector, SQLite in its data directory.
    const sqliteEnv = { ...base, SONGCHECK_INFLUX_DB: 'bench_sqlite' };
    const one = await startCollector(sqliteEnv, join(root, 'sqlite'));
    running.push(one);
    setups.push(await measureSetup('1 collector, SQLite (reference)', [one], (...args) => runBin(COLLECTOR_BIN, args, { ...sqliteEnv, SONGCHECK_DATA_DIR: join(root, 'sqlite') }), influx.url, 'bench_sqlite'));
    await stopCollector(one);

    // Two collectors, separate data directories, one PostgreSQL.
    const pgEnv = { ...base, SONGCHECK_INFLUX_DB: 'bench_postgres', SONGCHECK_DATABASE_URL: await postgres.createDatabase('bench_multi') };
    const pgCli = (...args: string[]) => runBin(COLLECTOR_BIN, args, { ...pgEnv, SONGCHECK_DATA_DIR: join(root, 'cli') });
    await pgCli('db', 'migrate');
    const [a, b] = await Promise.all([startCollector(pgEnv, join(root, 'a')), startCollector(pgEnv, join(root, 'b'))]);
    running.push(a, b);
    setups.push(await measureSetup('2 collectors, PostgreSQL', [a, b], pgCli, influx.url, 'bench_postgres'));
    const propagation = await measurePropagation(a, b, pgCli);
    return { results: OPTS.devices * OPTS.batchesPerDevice * OPTS.batchSize, devices: OPTS.devices, sockets: OPTS.sockets, setups, ...propagation };
  } finally {
    for (const c of running) await stopCollector(c);
    await postgres.stop();
    await influx.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

export function severalCollectorsReport(r: SeveralCollectorsResult): string {
  const ref = r.setups[0]!;
  return [
    '## Several collectors on PostgreSQL vs one on SQLite (issue 18)',
    '',
    `Same run, same InfluxDB 1.6 on loopback, PostgreSQL from Debian's package in a temporary cluster on loopback (scripts/postgres-server.ts; fsync and synchronous commit at their defaults, on). Ingest: ${r.results} results (${r.devices} devices, batches of 200, 8 concurrent senders; devices spread over the collectors). Handshakes: ${r.sockets} control-channel sockets opened 20 at a time (upgrade, authentication against the store, welcome). Everything shares the machine's cores.`,
    '',
    '| setup | ingest, results/s | ratio to the reference | stored | handshake p50 / p99 ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...r.setups.map((s) => `| ${s.label} | ${s.ingestPerSecond} | ${Math.round((s.ingestPerSecond / ref.ingestPerSecond) * 1000) / 1000} | ${s.stored} / ${r.results} | ${s.handshakeP50Ms} / ${s.handshakeP99Ms} |`),
    '',
    'Across the two collectors on PostgreSQL, one at a time:',
    '',
    '| what | rounds | p50 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| revocation: admin request sent to B → A closes the device's control socket (4401) | ${r.revocation.rounds} | ${r.revocation.p50Ms} | ${r.revocation.p99Ms} | ${r.revocation.maxMs} |`,
    `| site throughput lease: released on A (answer received) → granted on B to another device of the site | ${r.leaseHandover.rounds} (${r.leaseHandover.refused} refused) | ${r.leaseHandover.p50Ms} | ${r.leaseHandover.p99Ms} | ${r.leaseHandover.maxMs} |`,
    '',
    `Goal (issue 18): a revocation closes the sockets on every collector within a second: ${r.revocation.p99Ms < 1000 ? 'met at p99' : 'NOT met at p99'}.`,
  ].join('\n');
}

