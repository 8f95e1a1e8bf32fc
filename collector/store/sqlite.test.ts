import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from './sqlite.ts';
import type { Migration } from './store.ts';

const MIGRATIONS: Migration[] = [
  { version: 1, owner: 'a', sqlite: 'CREATE TABLE t (x INTEGER NOT NULL);' },
  { version: 2, owner: 'b', sqlite: 'ALTER TABLE t ADD COLUMN y TEXT; CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL);' },
];

let dir: string;
const opened: SqliteStore[] = [];
const open = (migrations: Migration[] = MIGRATIONS) => {
  const s = SqliteStore.open(path.join(dir, 'sub', 'test.sqlite'), { migrations, name: 'test' });
  opened.push(s);
  return s;
};

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-store-'));
});
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SqliteStore', () => {
  it('applies only the migrations a file lacks, and refuses a file from a newer collector', () => {
    const first = open(MIGRATIONS.slice(0, 1));
    first.sql('INSERT INTO t (x) VALUES (1)').run();
    first.close();
    const second = open();
    expect(second.sql('SELECT x, y FROM t').all()).toEqual([{ x: 1, y: null }]);
    second.close();
    expect(() => open(MIGRATIONS.slice(0, 1))).toThrow(/test schema version 2 is newer than this collector \(1\)/);
  });

  it('refuses migrations numbered out of order, naming the feature', () => {
    expect(() => open([MIGRATIONS[0]!, { ...MIGRATIONS[1]!, version: 3 }])).toThrow(/migration 2 \(from b\) is numbered 3/);
  });

  it('rolls a transaction back whole when it throws, and closes idempotently', () => {
    const store = open();
    expect(() => store.transaction(() => {
      store.sql('INSERT INTO t (x) VALUES (1)').run();
      throw new Error('boom');
    })).toThrow('boom');
    expect(store.sql('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 0 });
    store.close();
    expect(store.isOpen).toBe(false);
    store.close();
  });

  it('gives a lease to one holder until it lapses or is released', () => {
    const a = open();
    const b = open();
    expect(a.tryLease('job', 'A', 1000, 500)).toBe(true);
    expect(b.tryLease('job', 'B', 1200, 500)).toBe(false);
    expect(a.tryLease('job', 'A', 1400, 500)).toBe(true); // renewal moves the expiry to 1900
    expect(b.tryLease('job', 'B', 1800, 500)).toBe(false);
    expect(b.tryLease('job', 'B', 1900, 500)).toBe(true); // lapsed
    b.releaseLease('job', 'B');
    expect(a.tryLease('job', 'A', 1901, 500)).toBe(true);
  });
});
