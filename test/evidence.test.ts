// Signed evidence end to end (docs/evidence.md): keys at enrollment and on upgrade, signed delivery through
// the real collector (its socket, SQLite, evidence log) into the real InfluxDB, a month delivered day by day
// (the collector's clock is the only fake), packs exported by the route and the CLI, and the plain-node
// verifier: same verdict as the collector for PASS, FAIL and INSUFFICIENT months; one altered byte on
// disk, a dropped day and a swapped key each found at their exact place; old agents flagged, not refused.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { enroll } from '../agent/identity/enroll.ts';
import { loadIdentity, saveIdentity } from '../agent/identity/identity.ts';
import { loadOrCreateSigningKey, signingKeyFile, signResults, type DeviceSigningKey } from '../agent/identity/signing-key.ts';
import type { CollectorConfig } from '../collector/config.ts';
import { localTime } from '../collector/school/zone.ts';
import { evidenceCommand } from '../collector/evidence/cli.ts';
import { createLogger } from '../collector/logger.ts';
import { Registry } from '../collector/registry/registry.ts';
import { type RunningCollector, startCollector } from '../collector/server.ts';
import { generateDeviceKey, keyIdOf, privateKeyFromPem } from '../protocol/evidence.ts';
import type { Result } from '../protocol/results.ts';
// @ts-expect-error the verifier is plain JavaScript on purpose (no types, no build)
import { verifyPack } from '../bin/songcheck-verify.mjs';
import { uniqueTestDb } from './support/influx-query.ts';
import { AGENT_BIN, eventually, spawnNode } from './support/processes.ts';
import { FAST_AGENT_CONFIG } from './support/stack.ts';
import { type MonthShape, monthResults } from './support/evidence-month.ts';
import { strongToken } from './support/secrets.ts';

const run = promisify(execFile);
const ADMIN = strongToken();
const TZ = 'Asia/Ho_Chi_Minh';
const VERIFY = path.resolve('bin/songcheck-verify.mjs');

interface VerifyReport {
  ok: boolean;
  problems: string[];
  notes: string[];
  counts: { entries: number; signed: number; unsigned: number; invalid: number };
  differences: string[];
  recomputed: { verdict: string };
  pack: { verdict: { verdict: { verdict: string; reasons: string[]; criteria: { id: string; informational?: true; samples: number }[] } } };
}
const verify = (text: string) => verifyPack(text) as VerifyReport;

let root: string;
let config: CollectorConfig;
let collector: RunningCollector;
/** The collector's clock: a day's evening while a month is delivered, the real time otherwise. */
let now: number | undefined;
const heads: { kind: string; site?: string; date?: string; head?: string }[] = [];
let webhook: http.Server;
const devices = new Map<string, { deviceId: string; token: string; key?: DeviceSigningKey }>();
const packs = new Map<string, string>();

/**
 * fetch, sent once more when the first attempt finds its kept-alive socket just closed by the server's idle
 * timeout (ECONNRESET before any byte of the answer: the request was not handled).
 */
async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw error;
    return fetch(url, init);
  }
}

async function post(pathname: string, body: unknown, token?: string) {
  const res = await send(`${collector.url}/api/v1${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function exportPack(site: string, period: string): Promise<string> {
  const res = await send(`${collector.url}/api/v1/sites/${site}/evidence?period=${period}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text;
}

async function addSite(code: string, name: string): Promise<string> {
  const registry = await Registry.open(config.dataDir);
  try {
    await registry.addSite({ code, name, commune: 'Bản Xèo', operator: 'viettel', linkType: '4g' });
    return (await registry.createEnrollmentCode(code, { uses: 2 })).code;
  } finally {
    await registry.close();
  }
}

/** Enrols a device over HTTP with a fresh key (or none, like an agent before 0.2.0). */
async function enrollDevice(site: string, withKey: boolean) {
  const code = await addSite(site, `Trường ${site}`);
  const pair = withKey ? generateDeviceKey() : undefined;
  const res = await post('/enroll', { code, hostname: `pc-${site}`, agentVersion: withKey ? '0.2.0' : '0.1.0', ...(pair ? { publicKey: pair.publicKey } : {}) });
  expect(res.status).toBe(201);
  const key = pair ? { privateKey: privateKeyFromPem(pair.privateKeyPem), publicKey: pair.publicKey, keyId: keyIdOf(pair.publicKey) } : undefined;
  if (key) expect(res.body.keyId).toBe(key.keyId);
  else expect(res.body.keyId).toBeUndefined();
  const device = { deviceId: res.body.deviceId as string, token: res.body.token as string, ...(key ? { key } : {}) };
  devices.set(site, device);
  return device;
}

/** Delivers each day's results that evening (the collector's clock at 20:00 local), signed. */
async function deliverMonth(site: string, shape: MonthShape, seed: number) {
  const d = devices.get(site)!;
  for (const [date, results] of monthResults(site, '2026-11', shape, seed)) {
    now = localTime(date, 20 * 60, TZ);
    const res = await post('/measurements', { agentVersion: '0.2.0', results: signResults(d.deviceId, d.key!, results) }, d.token);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    expect(res.body.rejected).toBe(0);
  }
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-evidence-'));
  webhook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      heads.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const dataDir = path.join(root, 'collector');
  config = {
    host: '127.0.0.1', port: 0, dataDir, adminToken: ADMIN, testTokenKey: strongToken(), logLevel: 'silent', workers: 1,
    influx: { url: inject('influxUrl'), database: uniqueTestDb('evidence'), timeoutMs: 10_000 },
    compliance: {},
    evidence: { dir: path.join(dataDir, 'evidence'), retentionDays: 800, webhookUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/heads` },
  };
  collector = await startCollector(config, { logger: createLogger('silent'), clock: () => now ?? Date.now() });
  await enrollDevice('EV-PASS', true);
  await enrollDevice('EV-FAIL', true);
  await enrollDevice('EV-INSUF', true);
  await deliverMonth('EV-PASS', 'pass', 1);
  await deliverMonth('EV-FAIL', 'fail', 2);
  await deliverMonth('EV-INSUF', 'insufficient', 3);
  now = undefined;
  await collector.evidence.sweep();
  for (const site of ['EV-PASS', 'EV-FAIL', 'EV-INSUF']) packs.set(site, await exportPack(site, '2026-11'));
}, 240_000);

afterAll(async () => {
  await collector?.close();
  await new Promise((r) => webhook?.close(r));
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('evidence packs', () => {
  it.each([
    ['EV-PASS', 'PASS'],
    ['EV-FAIL', 'FAIL'],
    ['EV-INSUF', 'INSUFFICIENT'],
  ])('%s: every signature and the chain check, and the verifier recomputes the collector verdict (%s)', (site, expected) => {
    const report = verify(packs.get(site)!);
    expect(report.problems).toEqual([]);
    expect(report.differences).toEqual([]);
    expect(report.pack.verdict.verdict.verdict).toBe(expected);
    expect(report.recomputed.verdict).toBe(expected);
    expect(report.counts.signed).toBe(report.counts.entries);
    // The recomputation covers what the method leaves out (flagged tests and runs, said in the reasons) and
    // the informational readiness criteria, not only the plain statistics.
    const verdict = report.pack.verdict.verdict;
    if (site !== 'EV-INSUF') {
      expect(verdict.reasons).toContainEqual(expect.stringMatching(/^\d+ throughput tests? left out because the line was in use/));
      expect(verdict.reasons).toContainEqual(expect.stringMatching(/^\d+ latency runs? left out because the school's router/));
    }
    expect(verdict.criteria.filter((c) => c.informational && c.samples > 0).length).toBeGreaterThan(0);
    expect(report.counts.entries).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
  });

  it('the chain heads of finished days are recorded and sent to the webhook', async () => {
    const sent = heads.filter((h) => h.kind === 'evidence.head' && h.site === 'EV-PASS').map((h) => h.date).sort();
    expect(sent).toHaveLength(30);
    expect(sent[0]).toBe('2026-11-01');
    expect(packs.get('EV-PASS')!.split('\n').filter((l) => l.startsWith('{"type":"head"'))).toHaveLength(30);
  });

  it('runs with plain node as one file and says OK', async () => {
    const file = path.join(root, 'pass.jsonl');
    fs.writeFileSync(file, packs.get('EV-PASS')!);
    const { stdout } = await run(process.execPath, [VERIFY, file]);
    expect(stdout).toMatch(/verdict: collector PASS, recomputed PASS/);
    expect(stdout).toMatch(/^OK: /m);
  });

  it('the CLI writes the same pack as the route', async () => {
    const out = path.join(root, 'cli.jsonl');
    const env = { SONGCHECK_DATA_DIR: config.dataDir, SONGCHECK_INFLUX_URL: config.influx.url, SONGCHECK_INFLUX_DB: config.influx.database, SONGCHECK_LOG_LEVEL: 'silent', SONGCHECK_EVIDENCE_DIR: config.evidence!.dir };
    expect(await evidenceCommand(['export', '--site', 'EV-FAIL', '--period', '2026-11', '--out', out], env)).toBe(0);
    const report = verify(fs.readFileSync(out, 'utf8'));
    expect(report.ok).toBe(true);
    expect(report.recomputed.verdict).toBe('FAIL');
  });

  it('one byte changed in a stored result on disk is found at its day and line', async () => {
    const file = path.join(config.evidence!.dir, 'EV-FAIL', '2026-11-10.log');
    const original = fs.readFileSync(file, 'utf8');
    const lines = original.split('\n');
    const at = lines[4]!.indexOf('rtt_median_ms\\":') + 'rtt_median_ms\\":'.length;
    const digit = lines[4]![at]!;
    lines[4] = lines[4]!.slice(0, at) + (digit === '9' ? '1' : String(Number(digit) + 1)) + lines[4]!.slice(at + 1);
    fs.writeFileSync(file, lines.join('\n'));
    try {
      const report = verify(await exportPack('EV-FAIL', '2026-11'));
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual(expect.stringMatching(/^day 2026-11-10 line 5 \(pack line \d+\): the signature does not verify with device \S+'s key ed25519:[0-9a-f]{32}: the signed result was altered \(result EV-FAIL-2026-11-10-0005\)$/));
      expect(report.problems).toContainEqual(expect.stringMatching(/^day 2026-11-10 line 6 .*line 5 of 2026-11-10 was altered/));
      // The day's head (hash of its last line) still matches: rewriting every later line to hide the change would not.
      expect(report.problems).toHaveLength(2);
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('a day dropped from a pack is found', async () => {
    const lines = packs.get('EV-PASS')!.split('\n');
    const start = lines.findIndex((l) => l.startsWith('{"type":"day","date":"2026-11-12"'));
    const count = JSON.parse(lines[start]!).lines as number;
    lines.splice(start, count + 1);
    const report = verify(lines.join('\n'));
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(expect.stringMatching(/^day 2026-11-12: a chain head was recorded .* but the day's log is missing from the pack$/));
    expect(report.problems).toContainEqual(expect.stringMatching(/^day 2026-11-13 line 1 \(pack line \d+\): the chain continues from [0-9a-f]{64}, but the head of 2026-11-11 is [0-9a-f]{64}: a day before 2026-11-13 is missing or was altered$/));
  });

  it('a swapped device key is found against the audit log, and every signature then fails', async () => {
    const other = generateDeviceKey();
    const d = devices.get('EV-PASS')!;
    // The device record's key is replaced; the audit entry that registered the real one stays.
    const text = packs.get('EV-PASS')!.split('\n').map((l) => (l.startsWith('{"type":"device"') ? l.split(d.key!.publicKey).join(other.publicKey).split(d.key!.keyId).join(keyIdOf(other.publicKey)) : l)).join('\n');
    const report = verify(text);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatch(new RegExp(`^device ${d.deviceId}: key ${keyIdOf(other.publicKey)} in the pack is not the key registered in audit entry #\\d+ \\(ed25519:[0-9a-f]{32}, .*\\): the device key was swapped$`));
    expect(report.counts.invalid).toBe(report.counts.signed);
  });
});

describe('signing at the collector', () => {
  it('enrolls the real agent with a key: the private key stays in the data directory (0600), the public key is registered and audited', async () => {
    const code = await addSite('EV-AGENT', 'Trường EV-AGENT');
    const dataDir = path.join(root, 'agent');
    const identity = await enroll({ dataDir, collectorUrl: collector.url, code });
    const key = loadOrCreateSigningKey(dataDir);
    expect(identity.keyId).toBe(key.keyId);
    expect(loadIdentity(dataDir).keyId).toBe(key.keyId);
    expect(fs.statSync(signingKeyFile(dataDir)).mode & 0o777).toBe(0o600);
    const registry = await Registry.open(config.dataDir);
    try {
      expect(await registry.auditLog({ subject: identity.deviceId })).toContainEqual(expect.objectContaining({ action: 'device.key', detail: expect.objectContaining({ keyId: key.keyId, publicKey: key.publicKey, source: 'enroll' }) }));
    } finally {
      await registry.close();
    }
  });

  it('refuses an altered signature with its reason and counts it, without sinking the batch', async () => {
    const d = devices.get('EV-PASS')!;
    const results = monthResults('EV-PASS', '2026-12', 'pass', 9).get('2026-12-01')!.slice(0, 2);
    const signed = signResults(d.deviceId, d.key!, results);
    signed[1] = { ...signed[1]!, signed: signed[1]!.signed.replace('"code":"ok"', '"code":"partial"') };
    now = localTime('2026-12-01', 20 * 60, TZ);
    const res = await post('/measurements', { agentVersion: '0.2.0', results: signed }, d.token);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      expect.objectContaining({ index: 0, status: 'stored' }),
      { index: 1, status: 'rejected', reason: `signature does not verify with this device's key ${d.key!.keyId}: the result was altered after signing` },
    ]);
    expect((await collector.evidence.store.counters(d.deviceId)).invalid_signature).toMatchObject({ count: 1 });
    // The webhook is posted after the answer (it never delays ingest): wait for it, bounded.
    const isAlert = (h: unknown) => typeof h === 'object' && h !== null && (h as { kind?: string; device?: string }).kind === 'evidence.invalid_signature' && (h as { device?: string }).device === d.deviceId;
    for (let i = 0; i < 100 && !heads.some(isAlert); i++) await new Promise((r) => setTimeout(r, 50));
    expect(heads).toContainEqual(expect.objectContaining({ kind: 'evidence.invalid_signature', device: d.deviceId, refused: 1 }));
  });

  it('refuses the batch (409, results kept) for an unregistered key or unsigned results from a signing agent', async () => {
    const d = devices.get('EV-INSUF')!;
    const results = monthResults('EV-INSUF', '2026-12', 'pass', 4).get('2026-12-01')!.slice(0, 2);
    const stranger = loadOrCreateSigningKey(path.join(root, 'stranger'));
    const wrongKey = await post('/measurements', { agentVersion: '0.2.0', results: signResults(d.deviceId, stranger, results) }, d.token);
    expect(wrongKey).toMatchObject({ status: 409, body: { error: { code: 'signing_key_unknown' } } });
    const unsigned = await post('/measurements', { agentVersion: '0.2.0', results }, d.token);
    expect(unsigned).toMatchObject({ status: 409, body: { error: { code: 'signature_required' } } });
  });

  it('accepts unsigned results from an agent older than 0.2.0, flags them, and lets it register a key once on upgrade', async () => {
    const d = await enrollDevice('EV-OLD', false);
    const results: Result[] = [...monthResults('EV-OLD', '2026-11', 'pass', 5).get('2026-11-30')!].slice(0, 20);
    now = localTime('2026-11-30', 20 * 60, TZ);
    const res = await post('/measurements', { agentVersion: '0.1.0', results }, d.token);
    expect(res.status).toBe(200);
    expect(res.body.stored).toBe(20);
    expect((await collector.evidence.store.counters(d.deviceId)).unsigned).toMatchObject({ count: 20, lastReason: 'agent 0.1.0' });
    now = undefined;
    const report = verify(await exportPack('EV-OLD', '2026-11'));
    expect(report.problems).toEqual([]);
    expect(report.counts).toMatchObject({ entries: 20, signed: 0, unsigned: 20 });
    expect(report.notes).toContainEqual(expect.stringMatching(/^20 results are unsigned/));

    // The upgrade: the agent registers its key with its token; a second, different key is refused.
    const key = generateDeviceKey();
    const registered = await post('/devices/key', { publicKey: key.publicKey }, d.token);
    expect(registered).toMatchObject({ status: 200, body: { keyId: keyIdOf(key.publicKey) } });
    expect(await post('/devices/key', { publicKey: key.publicKey }, d.token)).toMatchObject({ status: 200 });
    expect(await post('/devices/key', { publicKey: generateDeviceKey().publicKey }, d.token)).toMatchObject({ status: 409, body: { error: { code: 'signing_key_exists' } } });
    // From now on its unsigned results are refused, even with the old version string.
    expect(await post('/measurements', { agentVersion: '0.1.0', results }, d.token)).toMatchObject({ status: 409, body: { error: { code: 'signature_required' } } });
  });

  it('a running agent enrolled before 0.2.0 registers a key on upgrade, then delivers signed results', async () => {
    // Enrolled the old way (no key), as an agent before 0.2.0 left its data directory.
    const d = await enrollDevice('EV-UPGRADE', false);
    const dataDir = path.join(root, 'upgrade');
    saveIdentity(dataDir, { deviceId: d.deviceId, token: d.token, collectorUrl: collector.url, site: { code: 'EV-UPGRADE', name: 'Trường EV-UPGRADE' }, enrolledAt: Date.now() });
    const configFile = path.join(dataDir, 'test-config.yaml');
    fs.writeFileSync(configFile, FAST_AGENT_CONFIG);
    const agent = spawnNode(AGENT_BIN, ['run', '--data-dir', dataDir, '--config', configFile]);
    try {
      const signedLine = await eventually(() => {
        const dates = collector.evidence.log.days('EV-UPGRADE');
        return dates.flatMap((date) => collector.evidence.log.readDay('EV-UPGRADE', date)).find((l) => l.includes('"signed":'));
      }, 90_000, 'a signed result from the upgraded agent in the evidence log').catch((error: Error) => {
        // The agent's own log says why (its start on a loaded machine, the key registration, a 409).
        throw new Error(`${error.message}\nagent output:\n${agent.lines.slice(-30).join('\n')}`);
      });
      const key = await collector.evidence.store.getKey(d.deviceId);
      expect(key).toMatchObject({ source: 'upgrade', keyId: JSON.parse(signedLine).key });
    } finally {
      await agent.kill('SIGTERM');
    }
    expect(loadIdentity(dataDir).keyId).toBe(loadOrCreateSigningKey(dataDir).keyId);
    const registry = await Registry.open(config.dataDir);
    try {
      expect((await registry.auditLog({ subject: d.deviceId })).map((a) => a.action)).toContain('device.key');
    } finally {
      await registry.close();
    }
  }, 150_000);
});
