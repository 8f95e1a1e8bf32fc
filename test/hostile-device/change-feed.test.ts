// Issue 14, case 12: a revocation could be missed by other processes' open sockets. The change feed read the
// new audit rows and MAX(id) in two statements; a revocation committed by another process between them was
// below the new watermark and never announced, so its WebSockets stayed open. Now the watermark trails the
// newest id and ids already announced are remembered (which PostgreSQL, committing out of id order, needs too). Fault injection: the other process's revocation is committed right
// after the feed's read, the moment the old code lost it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Registry } from '../../collector/registry/registry.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-feed-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the registry change feed', () => {
  it('announces a revocation committed by another process while it was reading', async () => {
    const collector = await Registry.open(dir);
    const cli = await Registry.open(dir);
    try {
      await cli.addSite({ code: 'LC-001', name: 'A' });
      const { code } = await cli.createEnrollmentCode('LC-001', { uses: 2 });
      const a = await cli.enroll(code, { hostname: 'A' });
      const b = await cli.enroll(code, { hostname: 'B' });
      await collector.pollChanges();
      const revoked: string[] = [];
      collector.events.on('revoked', (id) => revoked.push(id));

      // Wrap the feed's read so that another process commits a revocation just after it.
      const store = (collector as unknown as { db: { all: (source: string, ...args: never[]) => Promise<unknown[]> } }).db;
      const original = store.all.bind(store);
      let injected = false;
      store.all = async (source, ...args) => {
        const rows = await original(source, ...args);
        if (source.includes('FROM audit_log WHERE id >') && !injected) {
          injected = true;
          await cli.revokeDevice(b.deviceId, { reason: 'stolen PC' });
        }
        return rows;
      };
      await cli.revokeDevice(a.deviceId);
      await collector.pollChanges();
      await collector.pollChanges();
      expect(revoked).toEqual([a.deviceId, b.deviceId]);
    } finally {
      await collector.close();
      await cli.close();
    }
  });
});
