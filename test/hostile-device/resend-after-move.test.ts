// Issue 14: a device moved to another site (`devices move`) while results sit in its queue. The collector,
// not the device, decides where they land: the results the agent delivers after the move are stored under
// the new site with the new site's tags (from the registry at arrival), never under the old site, and a
// device that claims a site in its batch (at the top or in a result) is refused and writes nothing.
// Real processes: the collector's bin, the agent's bin, the collector CLI, the real InfluxDB.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadOrCreateSigningKey, signResults } from '../../agent/identity/signing-key.ts';
import type { Result } from '../../protocol/results.ts';
import { createDb, influxQuery, uniqueTestDb } from '../support/influx-query.ts';
import { COLLECTOR_BIN, eventually, killAll, runNode, type Tracked } from '../support/processes.ts';
import { createStack, type Stack } from '../support/stack.ts';

const influxUrl = inject('influxUrl');
let db: string;
let stack: Stack;
let agent: Tracked;
let deviceId: string;
let token: string;
let agentDir: string;
const q = (query: string) => influxQuery(influxUrl, db, query);
/** Ids of the tcp results the agent queued so far, from its debug log. */
const tcpQueued = () => agent.lines.filter((l) => l.includes('"result queued"') && l.includes('"probe":"tcp"')).flatMap((l) => {
  try {
    return [(JSON.parse(l) as { id: string }).id];
  } catch {
    return [];
  }
});
const cli = (...args: string[]) => runNode(COLLECTOR_BIN, args, { SONGCHECK_DATA_DIR: join(stack.root, 'collector') });

beforeAll(async () => {
  db = uniqueTestDb('hostile_move');
  await createDb(influxUrl, db);
  stack = await createStack({ influxUrl, db, siteCode: 'MOVE-A', siteArgs: ['--commune', 'Xã A', '--operator', 'viettel', '--link-type', '4g'] });
  const add = await cli('sites', 'add', '--code', 'MOVE-B', '--name', 'Điểm trường mới', '--commune', 'Xã B', '--operator', 'vnpt', '--link-type', 'fibre');
  expect(add.code, add.output).toBe(0);
  await stack.startCollector();
  agentDir = await stack.enrollAgent('agent');
  ({ deviceId, token } = JSON.parse(readFileSync(join(agentDir, 'identity.json'), 'utf8')) as { deviceId: string; token: string });
  agent = stack.startAgent(agentDir);
});

afterAll(async () => {
  await killAll();
  stack?.cleanup();
});

describe('results queued before a devices move', () => {
  it('land under the new site, with its tags, once each; nothing more under the old site', async () => {
    await eventually(async () => ((await q(`SELECT result_id FROM latency WHERE device = '${deviceId}' AND site = 'MOVE-A'`)).length >= 2 ? true : undefined), 60_000, 'results stored under the old site');
    await stack.stopCollector();
    // The collector is down: the agent keeps measuring into its queue.
    const atStop = tcpQueued().length;
    await eventually(() => (tcpQueued().length >= atStop + 3 ? true : undefined), 30_000, 'tcp results queued while the collector is down');
    const underA = await q(`SELECT result_id FROM latency WHERE device = '${deviceId}' AND site = 'MOVE-A'`);
    const lastUnderA = Math.max(...underA.map((p) => p.time as number));
    const move = await cli('devices', 'move', '--id', deviceId, '--site', 'MOVE-B');
    expect(move.code, move.output).toBe(0);
    const storedBefore = new Set(underA.map((p) => p.result_id as string));
    const waiting = tcpQueued().filter((id) => !storedBefore.has(id));
    expect(waiting.length).toBeGreaterThanOrEqual(3);
    await stack.startCollector();

    // Every tcp result the agent had queued at the move is delivered, under MOVE-B with its tags only.
    const list = waiting.map((id) => `'${id}'`).join(', ');
    const delivered = await eventually(async () => {
      const rows = await q(`SELECT result_id, site, commune, operator, link_type FROM latency WHERE device = '${deviceId}' AND time > ${lastUnderA * 1e6}`);
      const ids = new Set(rows.map((p) => p.result_id as string));
      return waiting.every((id) => ids.has(id)) ? rows.filter((p) => waiting.includes(p.result_id as string)) : undefined;
    }, 60_000, `the ${waiting.length} queued tcp results delivered after the move (${list.slice(0, 80)}…)`);
    expect(delivered).toHaveLength(waiting.length);
    expect(new Set(delivered.map((p) => [p.site, p.commune, p.operator, p.link_type].join('|')))).toEqual(new Set(['MOVE-B|Xã B|vnpt|fibre']));
    // Nothing of this device under the old site after its last point there, and each result id once.
    expect(await q(`SELECT result_id FROM latency WHERE device = '${deviceId}' AND site = 'MOVE-A' AND time > ${lastUnderA * 1e6}`)).toEqual([]);
    const all = await q(`SELECT result_id FROM latency WHERE device = '${deviceId}'`);
    expect(new Set(all.map((p) => p.result_id)).size).toBe(all.length);
  });

  it('a device that claims its old site in the batch or in a result is refused and writes nothing there', async () => {
    const before = (await q(`SELECT count(result_id) FROM latency WHERE site = 'MOVE-A'`))[0]?.count;
    // Signed with the device's own key (it signs since 0.2.0), so only the claim can be at fault.
    const key = loadOrCreateSigningKey(agentDir);
    const tcp = (extra: Record<string, unknown> = {}) => ({ id: crypto.randomUUID(), probe: 'tcp', target: 'collector.example.vn:443', measuredAt: Date.now() - 1000, code: 'ok', fields: { sent: 1, received: 1, loss_pct: 0, rtt_median_ms: 12 }, ...extra }) as unknown as Result;
    const post = (body: Record<string, unknown>) => fetch(`${stack.collectorUrl}/api/v1/measurements`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ agentVersion: '0.2.0', ...body }) });
    const top = await post({ site: 'MOVE-A', results: signResults(deviceId, key, [tcp()]) });
    expect(top.status).toBe(400);
    const inResult = await post({ results: signResults(deviceId, key, [tcp({ site: 'MOVE-A' }), tcp({ tags: { site: 'MOVE-A', commune: 'Xã A' } })]) });
    const answer = (await inResult.json()) as { results: { status: string }[] };
    expect(inResult.status, JSON.stringify(answer)).toBe(200);
    expect(answer.results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((await q(`SELECT count(result_id) FROM latency WHERE site = 'MOVE-A'`))[0]?.count).toBe(before);
    // The same kind of result without a claim is stored where the collector says: the device's site now.
    const plain = tcp();
    const ok = await post({ results: signResults(deviceId, key, [plain]) });
    const okAnswer = (await ok.json()) as { results: { status: string }[] };
    expect([ok.status, okAnswer.results.map((r) => r.status)], JSON.stringify(okAnswer)).toEqual([200, ['stored']]);
    const stored = await eventually(async () => (await q(`SELECT result_id, site FROM latency WHERE result_id = '${plain.id}'`))[0], 10_000, 'the plain result');
    expect(stored.site).toBe('MOVE-B');
  });
});
