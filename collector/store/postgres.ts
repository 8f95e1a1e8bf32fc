// The PostgreSQL backend of the store, selected by SONGCHECK_DATABASE_URL: the shared state of several
// collectors on several machines. One pool per process and URL (every feature store of the process shares
// it), migrations tracked per schema name in `songcheck_schema`, write transactions serialized by one
// advisory lock (the same guarantee SQLite's BEGIN IMMEDIATE gives), and LISTEN/NOTIFY so a change made on
// one collector (a revocation, a pushed configuration) is acted on by the others at once.
import pg from 'pg';
import { releaseLease, tryLease } from './leases.ts';
import { type SqlArgs, toPostgres } from './placeholders.ts';
import { checkMigrations, type Migration, type SqlRunner, type Store } from './store.ts';

/** BIGINT (epoch ms, COUNT) and NUMERIC as JavaScript numbers, as better-sqlite3 returns them. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/**
 * Notification channels are database-wide: prefixed so other software sharing the database never collides
 * with ours, and named after the schema so two deployments (or two tests) in one database don't either.
 */
const channelName = (schema: string, channel: string): string => `songcheck_${schema}_${channel}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase().slice(0, 63);

/** A schema name as a quoted identifier. */
const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** One key for the write lock of every songcheck store in the database (an arbitrary constant). */
const WRITE_LOCK_KEY = 0x50_4e_47_43; // "SNGC"
const MIGRATE_LOCK_KEY = WRITE_LOCK_KEY + 1;

class Listener {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<string, Set<() => void>>();
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly schema: string,
  ) {}

  add(channel: string, fn: () => void): () => void {
    const name = channelName(this.schema, channel);
    let set = this.handlers.get(name);
    if (!set) {
      this.handlers.set(name, (set = new Set()));
      if (this.client) void this.client.query(`LISTEN ${name}`).catch(() => this.reconnectSoon());
      else this.connect();
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  private connect(): void {
    if (this.closed || this.client || this.retryTimer) return;
    const client = new pg.Client(this.config);
    this.client = client;
    const fail = (): void => {
      if (this.client === client) this.client = undefined;
      client.removeAllListeners();
      void client.end().catch(() => {});
      this.reconnectSoon();
    };
    client.on('error', fail);
    client.on('end', () => {
      if (this.client === client && !this.closed) fail();
    });
    client.on('notification', (msg) => {
      for (const fn of this.handlers.get(msg.channel) ?? []) fn();
    });
    client
      .connect()
      .then(async () => {
        for (const name of this.handlers.keys()) await client.query(`LISTEN ${name}`);
        // Anything said while we were not listening: every handler looks again.
        for (const set of this.handlers.values()) for (const fn of set) fn();
      })
      .catch(fail);
  }

  private reconnectSoon(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, 1000);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
  }
}

interface SharedPool {
  pool: pg.Pool;
  listener: Listener;
  users: number;
  migrated: Set<string>;
}

const pools = new Map<string, SharedPool>();

function acquirePool(key: string, url: string, schema: string | undefined): SharedPool {
  let shared = pools.get(key);
  if (!shared) {
    // Without a schema of ours, the URL's own settings (or the server's default search_path) apply.
    const config: pg.ClientConfig = { connectionString: url, types, ...(schema ? { options: `-c search_path=${schema}` } : {}) };
    const pool = new pg.Pool({ ...config, max: 10, idleTimeoutMillis: 30_000 });
    // An idle client losing its connection (the server restarted) must not crash the process; the pool
    // replaces it on the next query.
    pool.on('error', () => {});
    shared = { pool, listener: new Listener(config, schema ?? 'public'), users: 0, migrated: new Set() };
    pools.set(key, shared);
  }
  shared.users++;
  return shared;
}

async function releasePool(key: string, shared: SharedPool): Promise<void> {
  shared.users--;
  if (shared.users > 0 || pools.get(key) !== shared) return;
  pools.delete(key);
  await shared.listener.close();
  await shared.pool.end();
}

type Queryable = pg.Pool | pg.PoolClient;

function runner(q: Queryable, schema: string): SqlRunner {
  const query = async (source: string, args: SqlArgs): Promise<pg.QueryResult> => {
    const { text, values } = toPostgres(source, args);
    return q.query({ text, values });
  };
  return {
    async all<T>(source: string, ...args: SqlArgs) {
      return (await query(source, args)).rows as T[];
    },
    async get<T>(source: string, ...args: SqlArgs) {
      return (await query(source, args)).rows[0] as T | undefined;
    },
    async run(source: string, ...args: SqlArgs) {
      return { changes: (await query(source, args)).rowCount ?? 0 };
    },
    async notify(channel: string) {
      await q.query(`NOTIFY ${channelName(schema, channel)}`);
    },
  };
}

/** Brings the schema `name` up to the last migration, one collector at a time (session advisory lock). */
async function migratePostgres(pool: pg.Pool, schema: string | undefined, migrations: readonly Migration[], name: string): Promise<void> {
  checkMigrations(migrations);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    try {
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await client.query('CREATE TABLE IF NOT EXISTS songcheck_schema (name TEXT PRIMARY KEY, version INTEGER NOT NULL)');
      const row = (await client.query('SELECT version FROM songcheck_schema WHERE name = $1', [name])).rows[0] as { version: number } | undefined;
      const current = row?.version ?? 0;
      if (current > migrations.length) {
        throw new Error(`${name} schema version ${current} in PostgreSQL is newer than this collector (${migrations.length}); upgrade the collector`);
      }
      for (let v = current; v < migrations.length; v++) {
        // Each step and its version bump commit together (PostgreSQL's DDL is transactional).
        await client.query('BEGIN');
        try {
          await client.query(migrations[v]!.postgres);
          await client.query(
            'INSERT INTO songcheck_schema (name, version) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET version = excluded.version',
            [name, v + 1],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw new Error(`${name} migration ${v + 1} (${migrations[v]!.owner}) failed in PostgreSQL: ${(error as Error).message}`);
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => {});
    }
  } finally {
    client.release();
  }
}

export class PostgresStore implements Store {
  readonly backend = 'postgres' as const;
  private open = true;
  private readonly direct: SqlRunner;

  private constructor(
    private readonly key: string,
    private readonly schema: string,
    private readonly shared: SharedPool,
  ) {
    this.direct = runner(shared.pool, schema);
  }

  /**
   * Connects (sharing the process's pool for this URL and schema) and brings the tables of `name` up to
   * its last migration. `schema` (created when missing) keeps these tables apart from others in the same
   * database; without it the connection's search_path decides (normally `public`).
   */
  static async open(url: string, options: { migrations: readonly Migration[]; name: string; schema?: string }): Promise<PostgresStore> {
    const { schema } = options;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`PostgreSQL schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _`);
    const key = `${url}\0${schema ?? ''}`;
    const shared = acquirePool(key, url, schema);
    try {
      if (!shared.migrated.has(options.name)) {
        await migratePostgres(shared.pool, schema, options.migrations, options.name);
        shared.migrated.add(options.name);
      }
    } catch (error) {
      await releasePool(key, shared);
      throw describeConnectError(url, error);
    }
    return new PostgresStore(key, schema ?? 'public', shared);
  }

  get isOpen(): boolean {
    return this.open;
  }

  all<T>(source: string, ...args: SqlArgs): Promise<T[]> {
    return this.direct.all<T>(source, ...args);
  }

  get<T>(source: string, ...args: SqlArgs): Promise<T | undefined> {
    return this.direct.get<T>(source, ...args);
  }

  run(source: string, ...args: SqlArgs): Promise<{ changes: number }> {
    return this.direct.run(source, ...args);
  }

  notify(channel: string): Promise<void> {
    return this.direct.notify(channel);
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const client = await this.shared.pool.connect();
    try {
      await client.query('BEGIN');
      // One writer at a time across every collector, held until COMMIT: a read followed by a write (the last
      // use of an enrollment code, the last test slot) cannot race another collector's.
      await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY]);
      const result = await fn(runner(client, this.schema));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  listen(channel: string, fn: () => void): () => void {
    return this.shared.listener.add(channel, fn);
  }

  tryLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    return tryLease(this, name, holder, now, ttlMs);
  }

  releaseLease(name: string, holder: string): Promise<void> {
    return releaseLease(this, name, holder);
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await releasePool(this.key, this.shared);
  }
}

/** A connection failure as one line naming the server (never the password). */
function describeConnectError(url: string, error: unknown): Error {
  const message = (error as Error).message ?? String(error);
  let where = 'PostgreSQL';
  try {
    const u = new URL(url);
    where = `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    // keep the generic name
  }
  return new Error(`${where}: ${message}`);
}
