// The alert admin API over a real SQLite file: list, acknowledge, silence (validated), outbox and channels.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAlertsConfig } from './config.ts';
import { AlertService } from './service.ts';
import { createApp } from '../app.ts';
import { createInfluxWriter } from '../influx/writer.ts';
import { createLogger } from '../logger.ts';
import { Registry } from '../registry/registry.ts';
import { openCollectorStore } from '../database.ts';
import { strongToken } from '../../test/support/secrets.ts';

const TOKEN = strongToken();
const NOW = Date.UTC(2026, 10, 24, 2, 0);
let dir: string;
let registry: Registry;
let alerts: AlertService;
let app: ReturnType<typeof createApp>;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-alerts-api-'));
  registry = await Registry.open(dir, { now: () => NOW });
  // InfluxDB is not reached by these routes; the writer only satisfies the app's dependencies.
  const writer = createInfluxWriter({ url: 'http://127.0.0.1:9', database: 'unused', timeoutMs: 1000 });
  alerts = new AlertService({ config: parseAlertsConfig({ rules: [{ id: 'site-silent', kind: 'site_silent' }] }), store: await openCollectorStore(dir), registry, query: (q) => writer.query(q), clock: () => NOW });
  app = createApp({ registry, writer, logger: createLogger('silent'), version: 'test', adminToken: TOKEN, alerts, clock: () => NOW });
  await alerts.store.putState({ ruleId: 'site-silent', siteCode: 'LC-001', state: 'firing', since: NOW, firedAt: NOW, notifiedAt: NOW, clearStreak: 0 });
});
afterEach(async () => {
  await alerts.close();
  await registry.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const call = (method: string, url: string, body?: unknown, token = TOKEN) =>
  app.request(`/api/v1/admin/alerts${url}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

describe('alert admin API', () => {
  it('refuses requests without the admin token', async () => {
    expect((await call('GET', '', undefined, 'wrong-token-0123456789')).status).toBe(401);
  });

  it('lists alerts and acknowledges a firing one until it resolves', async () => {
    const list = (await (await call('GET', '?state=firing')).json()) as { alerts: { siteCode: string }[] };
    expect(list.alerts.map((a) => a.siteCode)).toEqual(['LC-001']);
    const ack = await call('POST', '/ack', { rule: 'site-silent', site: 'LC-001', by: 'on-call' });
    expect(ack.status).toBe(200);
    expect(await alerts.store.getState('site-silent', 'LC-001')).toMatchObject({ ackedBy: 'on-call', ackedAt: NOW });
    const missing = await call('POST', '/ack', { rule: 'site-silent', site: 'LC-404' });
    expect(missing.status).toBe(404);
  });

  it('creates, lists and removes silences, and explains a bad one', async () => {
    const bad = await call('POST', '/silences', { minutes: 30 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('say what to silence');
    const both = await call('POST', '/silences', { site: 'LC-001', minutes: 30, until: '2030-01-01T00:00:00Z' });
    expect(((await both.json()) as { error: { message: string } }).error.message).toContain('exactly one of minutes or until');
    const created = await call('POST', '/silences', { group: 'commune:Bản Xèo', minutes: 120, reason: 'tower maintenance' });
    expect(created.status).toBe(201);
    const { silence } = (await created.json()) as { silence: { id: string; until: number } };
    expect(silence.until).toBe(NOW + 120 * 60_000);
    const listed = (await (await call('GET', '/silences')).json()) as { silences: { id: string }[] };
    expect(listed.silences.map((s) => s.id)).toEqual([silence.id]);
    expect((await call('DELETE', `/silences/${silence.id}`)).status).toBe(204);
    expect((await call('DELETE', `/silences/${silence.id}`)).status).toBe(404);
  });

  it('shows the outbox and the channel health', async () => {
    await alerts.store.enqueue('hook', { kind: 'firing', at: NOW, sites: [] }, NOW);
    const outbox = (await (await call('GET', '/outbox?status=pending')).json()) as { outbox: { channel: string }[] };
    expect(outbox.outbox.map((o) => o.channel)).toEqual(['hook']);
    expect((await call('GET', '/outbox?status=lost')).status).toBe(400);
    expect(((await (await call('GET', '/channels')).json()) as { channels: unknown[] }).channels).toEqual([]);
  });
});
