// Issue 14, case 12: a revocation could be missed by other processes' open sockets. The change feed read the
// new audit rows and MAX(id) in two statements; a revocation committed by another process between them was
// below the new watermark and never announced, so its WebSockets stayed open. Now rows and watermark come
// from one statement (one snapshot). Fault injection: the other process's revocation is committed right
// after the feed's read, the moment the old code lost it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Registry } from '../../collector/registry/registry.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-feed-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the registry change feed', () => {
  it('announces a revocation committed by another process while it was reading', () => {
    const collector = Registry.open(dir);
    const cli = Registry.open(dir);
    try {
      cli.addSite({ code: 'LC-001', name: 'A' });
      const { code } = cli.createEnrollmentCode('LC-001', { uses: 2 });
      const a = cli.enroll(code, { hostname: 'A' });
      const b = cli.enroll(code, { hostname: 'B' });
      collector.pollChanges();
      const revoked: string[] = [];
      collector.events.on('revoked', (id) => revoked.push(id));

      // Wrap the feed's read so that another process commits a revocation just after it.
      const internal = collector as unknown as { sql: (source: string) => { all: (...args: unknown[]) => unknown[] } };
      const original = internal.sql.bind(collector);
      let injected = false;
      internal.sql = (source) => {
        const statement = original(source);
        if (!source.includes('FROM audit_log WHERE id >')) return statement;
        return {
          ...statement,
          all: (...args: unknown[]) => {
            const rows = statement.all(...args);
            if (!injected) {
              injected = true;
              cli.revokeDevice(b.deviceId, { reason: 'stolen PC' });
            }
            return rows;
          },
        } as never;
      };
      cli.revokeDevice(a.deviceId);
      collector.pollChanges();
      collector.pollChanges();
      expect(revoked).toEqual([a.deviceId, b.deviceId]);
    } finally {
      collector.close();
      cli.close();
    }
  });
});
