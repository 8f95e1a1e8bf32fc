// Prepared statements kept per SQL text: preparing costs more than running the small queries of the
// registry, the control channel and the alert store, which repeat the same few statements all day.
import type Database from 'better-sqlite3';

/** Returns a function that prepares each SQL text once per connection and reuses it. */
export function statementCache(db: Database.Database): (source: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (source) => {
    let stmt = statements.get(source);
    if (!stmt) statements.set(source, (stmt = db.prepare(source)));
    return stmt;
  };
}
