// The control tables on a real SQLite file: the sweep lease between processes, and stale presence.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from '../registry/registry.ts';
import { ControlStore } from './store.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function open(now: () => number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-control-store-'));
  dirs.push(dir);
  return { dir, registry: await Registry.open(dir, { now }) };
}

describe('control store', () => {
  it('gives the presence-sweep lease to one holder at a time, and to another once it lapses', async () => {
    let t = 1_000_000;
    const { dir, registry } = await open(() => t);
    // Two collector processes: two connections to the same file.
    const other = await Registry.open(dir, { now: () => t });
    const a = new ControlStore(registry.store, () => t);
    const b = new ControlStore(other.store, () => t);
    expect(await a.tryLease('presence-sweep', 'A', 90_000)).toBe(true);
    expect(await b.tryLease('presence-sweep', 'B', 90_000)).toBe(false);
    t += 60_000;
    expect(await a.tryLease('presence-sweep', 'A', 90_000)).toBe(true); // renewed
    t += 80_000;
    expect(await b.tryLease('presence-sweep', 'B', 90_000)).toBe(false);
    t += 20_000; // A stopped renewing (crashed): its lease lapsed
    expect(await b.tryLease('presence-sweep', 'B', 90_000)).toBe(true);
    expect(await a.tryLease('presence-sweep', 'A', 90_000)).toBe(false);
    await registry.close();
    await other.close();
  });

  it('keeps a device connected when an old holder disconnects after a new holder took it over', async () => {
    const t = 5_000_000;
    const { registry } = await open(() => t);
    await registry.addSite({ code: 'S-1', name: 'S' });
    const { code } = await registry.createEnrollmentCode('S-1');
    const { deviceId } = await registry.enroll(code);
    const store = new ControlStore(registry.store, () => t);
    await store.writePresence([{ deviceId, holder: 'A', connected: true }]);
    await store.writePresence([{ deviceId, holder: 'B', connected: true }]); // reconnected to process B
    await store.writePresence([{ deviceId, holder: 'A', connected: false }]); // A notices its old socket closed
    expect((await store.presence())[0]).toMatchObject({ deviceId, connected: true, holderUntil: 0 }); // B never took its holder lease: a dead process
    await store.tryLease('holder:B', 'B', 90_000);
    expect((await store.presence())[0]!.holderUntil).toBe(t + 90_000);
    await store.releaseHolder('B');
    expect((await store.presence())[0]).toMatchObject({ deviceId, connected: false });
    await registry.close();
  });
});
