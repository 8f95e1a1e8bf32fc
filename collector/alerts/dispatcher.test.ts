// Delivery from the outbox to real loopback receivers: retries with backoff on retryable failures, none on
// permanent ones, and a channel that keeps failing is reported through the other channel and in health().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openCollectorStore } from '../database.ts';
import { createChannel } from './channels/index.ts';
import { parseAlertsConfig } from './config.ts';
import { Dispatcher } from './dispatcher.ts';
import { AlertStore } from './store.ts';
import { type Receiver, startReceiver } from './test-receiver.test-support.ts';
import type { AlertMessage } from './types.ts';

const MSG: AlertMessage = { kind: 'firing', at: 0, ruleKind: 'site_silent', sites: [{ code: 'LC-001', name: 'Bản Xèo' }] };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-dispatch-'));
  const db = openCollectorStore(dir);
  const primary = await startReceiver();
  const backup = await startReceiver();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => { db.close(); }, () => primary.close(), () => backup.close());
  const config = parseAlertsConfig({
    delivery: { maxAttempts: 4, baseDelaySeconds: 30, maxDelaySeconds: 3600, failingAfter: 3 },
    channels: [
      { id: 'primary', type: 'slack', url: `${primary.url}/p`, lang: 'en' },
      { id: 'backup', type: 'slack', url: `${backup.url}/b`, lang: 'en' },
    ],
  }, 'test', {});
  const clock = { now: 1_000_000 };
  const store = new AlertStore(db);
  const channels = new Map(config.channels.map((c) => [c.id, createChannel(c, { timeoutMs: 5000 })]));
  const dispatcher = new Dispatcher({ config, store, channels, clock: () => clock.now });
  return { store, dispatcher, clock, primary: primary as Receiver, backup: backup as Receiver };
}

describe('dispatcher', () => {
  it('retries a retryable failure with exponential backoff and marks it sent after the 2xx', async () => {
    const r = await rig();
    r.primary.script.push(503, 429);
    const id = r.store.enqueue('primary', MSG, r.clock.now);
    expect(await r.dispatcher.dispatch()).toMatchObject({ sent: 0, retried: 1 });
    // Not due yet: nothing is sent before the backoff has passed.
    r.clock.now += 29_000;
    expect(await r.dispatcher.dispatch()).toMatchObject({ sent: 0, retried: 0 });
    r.clock.now += 1_000;
    expect(await r.dispatcher.dispatch()).toMatchObject({ retried: 1 });
    expect(r.store.outbox()[0]!.nextAttemptAt).toBe(r.clock.now + 60_000);
    r.clock.now += 60_000;
    expect(await r.dispatcher.dispatch()).toMatchObject({ sent: 1 });
    expect(r.store.outbox().find((o) => o.id === id)).toMatchObject({ status: 'sent', attempts: 3 });
    expect(r.primary.received.map((x) => x.status)).toEqual([503, 429, 200]);
    // A sent row is never sent again.
    r.clock.now += 3_600_000;
    await r.dispatcher.dispatch();
    expect(r.primary.received).toHaveLength(3);
  });

  it('gives up at once on a permanent failure', async () => {
    const r = await rig();
    r.primary.script.push(404);
    r.store.enqueue('primary', MSG, r.clock.now);
    expect(await r.dispatcher.dispatch()).toMatchObject({ failed: 1 });
    r.clock.now += 3_600_000;
    await r.dispatcher.dispatch();
    expect(r.primary.received).toHaveLength(1);
    expect(r.store.outbox({ status: 'failed' })[0]!.lastError).toContain('HTTP 404');
  });

  it('reports a channel that keeps failing through the other channel, once, and in its health', async () => {
    const r = await rig();
    r.primary.script.push(500, 500, 500, 500, 500, 500);
    for (let i = 0; i < 3; i++) r.store.enqueue('primary', MSG, r.clock.now);
    await r.dispatcher.dispatch();
    expect(r.dispatcher.health().find((h) => h.id === 'primary')).toMatchObject({ consecutiveFailures: 3, failing: true });
    await r.dispatcher.dispatch();
    const reports = r.backup.accepted();
    expect(reports).toHaveLength(1);
    expect(reports[0]!.text).toContain('Alert channel failing: primary');
    // More failures do not report again; a success clears the state.
    r.clock.now += 3_600_000;
    await r.dispatcher.dispatch();
    expect(r.backup.accepted()).toHaveLength(1);
    r.primary.script.length = 0;
    r.clock.now += 3_600_000;
    await r.dispatcher.dispatch();
    expect(r.dispatcher.health().find((h) => h.id === 'primary')).toMatchObject({ consecutiveFailures: 0, failing: false });
  });
});
