// The one-way copy from a SQLite data directory into PostgreSQL (`songcheck-collector db import-sqlite`),
// for a province that outgrows one machine. The target must be migrated (same schema version as the file)
// and empty: the copy never merges two deployments' registries. All of it commits in one transaction.
import Database from 'better-sqlite3';
import type { Store } from './store.ts';

export interface ImportTable {
  name: string;
  /** An identity column whose sequence must continue after the copied ids (audit_log.id, ...). */
  identity?: string;
  /** The order to copy rows in, when the target numbers them as they come (the PostgreSQL `seq` columns). */
  order?: string;
}

export interface ImportReport {
  tables: { name: string; rows: number }[];
}

export class ImportError extends Error {}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Copies `tables` (in this order: parents before children) from the SQLite file into `target`.
 * `expectVersion` is the schema version both must have: an older file is migrated by opening it with the
 * collector first (`db migrate` with SONGCHECK_DATABASE_URL unset), a newer one needs a newer collector.
 */
export async function importSqlite(file: string, target: Store, tables: readonly ImportTable[], expectVersion: number): Promise<ImportReport> {
  if (target.backend !== 'postgres') throw new ImportError('the target is not PostgreSQL: set SONGCHECK_DATABASE_URL to the database to copy into');
  let source: Database.Database;
  try {
    source = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new ImportError(`cannot open ${file}: ${(error as Error).message}`);
  }
  try {
    const version = source.pragma('user_version', { simple: true }) as number;
    if (version !== expectVersion) {
      throw new ImportError(
        `${file} has schema version ${version}, this collector ${expectVersion}: ${version < expectVersion ? 'run the collector (or `db migrate` without SONGCHECK_DATABASE_URL) on that data directory first' : 'use the collector version that wrote it'}`,
      );
    }
    return await target.transaction(async (tx) => {
      for (const t of tables) {
        const row = await tx.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${quote(t.name)}`);
        if (row && row.n > 0) throw new ImportError(`PostgreSQL table ${t.name} already has ${row.n} rows; import-sqlite copies into an empty database only`);
      }
      const report: ImportReport = { tables: [] };
      for (const t of tables) {
        const rows = source.prepare(`SELECT * FROM ${quote(t.name)}${t.order ? ` ORDER BY ${t.order}` : ''}`).all() as Record<string, unknown>[];
        const cols = rows[0] ? Object.keys(rows[0]) : [];
        // Many rows per INSERT (PostgreSQL takes at most 65 535 parameters per statement): a registry of
        // 50 000 devices copies in seconds, not one round trip per row.
        const perInsert = Math.max(1, Math.floor(30_000 / Math.max(1, cols.length)));
        for (let i = 0; i < rows.length; i += perInsert) {
          const chunk = rows.slice(i, i + perInsert);
          const tuple = `(${cols.map(() => '?').join(', ')})`;
          await tx.run(
            `INSERT INTO ${quote(t.name)} (${cols.map(quote).join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`,
            ...chunk.flatMap((r) => cols.map((c) => r[c] as string | number | null)),
          );
        }
        if (t.identity) {
          // The next id PostgreSQL hands out must follow the copied ones.
          await tx.get(
            `SELECT setval(pg_get_serial_sequence(?, ?), GREATEST((SELECT COALESCE(MAX(${quote(t.identity)}), 0) FROM ${quote(t.name)}), 1), (SELECT COUNT(*) > 0 FROM ${quote(t.name)}))`,
            t.name, t.identity,
          );
        }
        report.tables.push({ name: t.name, rows: rows.length });
      }
      return report;
    });
  } finally {
    source.close();
  }
}
