// `songcheck-collector db ...`: create or upgrade the collector's tables without starting it (before a
// rolling upgrade of several collectors, or to check a PostgreSQL URL), and the one-way copy of a SQLite
// data directory into PostgreSQL for a province that outgrows one machine (docs/deployment.md).
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CliHelpers } from './command-line.ts';
import { loadRegistryConfig } from './config.ts';
import { IMPORT_TABLES, openCollectorStore, openThroughputStore, REGISTRY_FILE, SCHEMA_VERSION } from './database.ts';
import { ImportError, importSqlite } from './store/import-sqlite.ts';
import { storeLocation } from './store/open.ts';
import { THROUGHPUT_MIGRATIONS } from './throughput/migrations.ts';

export const DATABASE_HELP = `  db migrate                 create or bring up to date the collector's tables without serving: the SQLite
                             files in SONGCHECK_DATA_DIR, or the PostgreSQL database of SONGCHECK_DATABASE_URL
  db import-sqlite DIR       copy DIR/${REGISTRY_FILE} (sites, codes, devices, configurations, commands, alerts,
                             evidence heads, guards) into the empty PostgreSQL database of SONGCHECK_DATABASE_URL,
                             all in one transaction; stop the collector that writes DIR first`;

/** Where the state goes, said without the password. */
function describeTarget(dataDir: string): string {
  const location = storeLocation(dataDir, REGISTRY_FILE);
  if (location.kind === 'sqlite') return `SQLite in ${dataDir}`;
  const url = new URL(location.url);
  return `PostgreSQL at ${url.hostname}:${url.port || '5432'}${url.pathname}${location.schema ? ` (schema ${location.schema})` : ''}`;
}

/** The data directory to copy from: an existing directory holding the registry file. */
const SourceDir = z
  .string()
  .min(1, 'give the data directory to copy from')
  .transform((dir) => path.resolve(dir))
  .refine((dir) => fs.existsSync(path.join(dir, REGISTRY_FILE)), { message: `no ${REGISTRY_FILE} there; give the SONGCHECK_DATA_DIR of the collector to copy from` });

export function databaseCommands(h: CliHelpers): Record<string, (args: string[]) => Promise<void>> {
  return {
    'db migrate': async (args) => {
      h.parse(args, {}, z.object({}));
      const { dataDir } = loadRegistryConfig();
      const where = describeTarget(dataDir);
      for (const open of [openCollectorStore, openThroughputStore]) {
        try {
          await (await open(dataDir)).close();
        } catch (error) {
          throw h.refused(`${where}: ${(error as Error).message}`);
        }
      }
      h.out(`${where}: collector tables at version ${SCHEMA_VERSION}, throughput tables at version ${THROUGHPUT_MIGRATIONS.length}`);
    },

    'db import-sqlite': async (args) => {
      const a = h.parse(args, {}, z.object({}), [], 1);
      const checked = SourceDir.safeParse(a._[0] ?? '');
      if (!checked.success) throw h.usage(`db import-sqlite: ${a._[0] ? `${a._[0]}: ` : ''}${checked.error.issues[0]!.message}`);
      if (!process.env.SONGCHECK_DATABASE_URL) throw h.usage('db import-sqlite: set SONGCHECK_DATABASE_URL to the PostgreSQL database to copy into (postgres://user:password@host:5432/db)');
      const { dataDir } = loadRegistryConfig();
      const where = describeTarget(dataDir);
      let target;
      try {
        target = await openCollectorStore(dataDir);
      } catch (error) {
        throw h.refused(`${where}: ${(error as Error).message}`);
      }
      try {
        // The throughput tables are not copied (running tests and leases that lapse within minutes), only created.
        await (await openThroughputStore(dataDir)).close();
        const report = await importSqlite(path.join(checked.data, REGISTRY_FILE), target, IMPORT_TABLES, SCHEMA_VERSION);
        const rows = report.tables.reduce((n, t) => n + t.rows, 0);
        h.table([['TABLE', 'ROWS'], ...report.tables.filter((t) => t.rows > 0).map((t) => [t.name, String(t.rows)])]);
        h.out(`copied ${rows} rows from ${path.join(checked.data, REGISTRY_FILE)} into ${where}; point every collector at SONGCHECK_DATABASE_URL now`);
      } catch (error) {
        if (error instanceof ImportError) throw h.refused(error.message);
        throw error;
      } finally {
        await target.close();
      }
    },
  };
}
