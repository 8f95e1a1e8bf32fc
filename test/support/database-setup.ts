// vitest setupFiles: under SONGCHECK_TEST_DATABASE=postgres, every store the tests open goes to the shared
// PostgreSQL server (test/support/global-postgres.ts), in a schema of its own per data directory
// (collector/database.ts), so tests written for a fresh SQLite file need no change.
import { inject } from 'vitest';

const url = inject('postgresUrl');
if (url) process.env.SONGCHECK_DATABASE_URL = url;
