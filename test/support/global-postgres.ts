// vitest globalSetup: with SONGCHECK_TEST_DATABASE=postgres, one real PostgreSQL server for the whole run
// (scripts/postgres-server.ts), its URL provided as `postgresUrl`; test/support/database-setup.ts points
// SONGCHECK_DATABASE_URL at it so every registry, control, alert and throughput store of the tests (and of
// the collector and CLI processes they start) runs on PostgreSQL, each data directory in its own schema.
// Without the variable nothing starts and the stores stay on SQLite, the default.
import type { TestProject } from 'vitest/node';
import { startPostgres } from '../../scripts/postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://… of the shared server's test database, or '' when the run is on SQLite. */
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.SONGCHECK_TEST_DATABASE !== 'postgres') {
    project.provide('postgresUrl', '');
    return async () => {};
  }
  const server = await startPostgres({ log: (line) => console.log(`[global-postgres] ${line}`) });
  project.provide('postgresUrl', await server.createDatabase('songcheck_test'));
  return async () => {
    await server.stop();
  };
}
