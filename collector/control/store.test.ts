// The control tables on a real SQLite file: the sweep lease between processes, and stale presence.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from '../registry/registry.ts';
import { ControlStore } from './store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function open(now: () => number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-control-store-'));
  dirs.push(dir);
  return { dir, registry: Registry.open(dir, { now }) };
}

describe('control store', () => {
  it('gives the presence-sweep lease to one holder at a time, and to another once it lapses', () => {
    let t = 1_000_000;
    const { dir, registry } = open(() => t);
    // Two collector processes: two connections to the same file.
    const other = Registry.open(dir, { now: () => t });
    const a = new ControlStore(registry.store, () => t);
    const b = new ControlStore(other.store, () => t);
    expect(a.tryLease('presence-sweep', 'A', 90_000)).toBe(true);
    expect(b.tryLease('presence-sweep', 'B', 90_000)).toBe(false);
    t += 60_000;
    expect(a.tryLease('presence-sweep', 'A', 90_000)).toBe(true); // renewed
    t += 80_000;
    expect(b.tryLease('presence-sweep', 'B', 90_000)).toBe(false);
    t += 20_000; // A stopped renewing (crashed): its lease lapsed
    expect(b.tryLease('presence-sweep', 'B', 90_000)).toBe(true);
    expect(a.tryLease('presence-sweep', 'A', 90_000)).toBe(false);
    registry.close();
    other.close();
  });

  it('keeps a device connected when an old holder disconnects after a new holder took it over', () => {
    const t = 5_000_000;
    const { registry } = open(() => t);
    registry.addSite({ code: 'S-1', name: 'S' });
    const { code } = registry.createEnrollmentCode('S-1');
    const { deviceId } = registry.enroll(code);
    const store = new ControlStore(registry.store, () => t);
    store.writePresence([{ deviceId, holder: 'A', connected: true }]);
    store.writePresence([{ deviceId, holder: 'B', connected: true }]); // reconnected to process B
    store.writePresence([{ deviceId, holder: 'A', connected: false }]); // A notices its old socket closed
    expect(store.presence()[0]).toMatchObject({ deviceId, connected: true, holderUntil: 0 }); // B never took its holder lease: a dead process
    store.tryLease('holder:B', 'B', 90_000);
    expect(store.presence()[0]!.holderUntil).toBe(t + 90_000);
    store.releaseHolder('B');
    expect(store.presence()[0]).toMatchObject({ deviceId, connected: false });
    registry.close();
  });
});
