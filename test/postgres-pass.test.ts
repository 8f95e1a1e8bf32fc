// The PostgreSQL pass (`npm run test:postgres`, run by .ci/run after `npm test`) must cover every test that
// starts a collector or opens its store, except the few README's "Tests" leaves out on purpose (CI's
// 20-minute budget). Without this check a new integration test would silently run on SQLite only.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/processes.ts';

/** Left out of the PostgreSQL pass, with the reason README's "Tests" gives. */
const SQLITE_ONLY: Record<string, string> = {
  'test/two-collectors.test.ts': 'runs on PostgreSQL in the SQLite pass already (a server of its own)',
  'test/agent-sigkill.test.ts': 'agent-side: the collector only receives (time)',
  'test/ack-lost-resend.test.ts': 'agent-side: the collector only receives (time)',
  'test/disk-full-corrupt-queue.test.ts': 'agent-side: the collector only receives (time)',
  'test/uptime-results-influx.test.ts': 'agent-side: the collector only receives (time)',
  'test/install-linux.test.ts': 'agent-side: the collector only receives (time)',
  'test/agent-one-file-build.test.ts': 'agent-side: the collector only receives (time)',
  'test/fuzz-line-protocol.test.ts': 'agent-side: the collector only receives (time)',
  'test/grafana-queries.test.ts': 'agent-side: the collector only receives (time)',
};

/** Imports by which a test reaches a collector or its store (hostile-device's `./support.ts` starts one). */
const IMPORT_REACHING_THE_STORE = /support\/stack\.ts|support\/collector-app\.ts|from '\.\/support\.ts'|COLLECTOR_BIN|openCollectorStore|from '(\.\.\/)+collector\//;
/** The demo, spawned as a script, runs a collector too. */
const SPAWNS_THE_DEMO = /'scripts\/demo\.ts'/;

/** Only import lines and spawns count: a test's fixtures may hold collector code as text. */
function reachesTheStore(source: string): boolean {
  return source.split('\n').some((line) => (line.startsWith('import ') && IMPORT_REACHING_THE_STORE.test(line)) || SPAWNS_THE_DEMO.test(line));
}

function testFiles(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts') && !e.name.endsWith('-lab.test.ts'))
    .map((e) => path.relative(REPO_ROOT, path.join(e.parentPath, e.name)));
}

/** The path filters of `npm run test:postgres` (vitest matches them as substrings of a file's path). */
function postgresFilters(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words = pkg.scripts['test:postgres']!.split(/\s+/);
  expect(words.slice(0, 3)).toEqual(['SONGCHECK_TEST_DATABASE=postgres', 'vitest', 'run']);
  return words.slice(3).filter((w, i, all) => !w.startsWith('-') && all[i - 1] !== '--project');
}

describe('the PostgreSQL pass', () => {
  const filters = postgresFilters();
  const covered = (file: string) => filters.some((f) => file.includes(f));
  const reaching = ['collector', 'test', 'scripts'].flatMap(testFiles).filter((f) => f.startsWith('collector/') || reachesTheStore(readFileSync(path.join(REPO_ROOT, f), 'utf8')));

  it('runs every test that reaches the collector or its store, except those README says stay on SQLite', () => {
    expect(reaching.filter((f) => !covered(f) && !(f in SQLITE_ONLY))).toEqual([]);
    // The detection is not vacuous: it finds the store's own tests and the files left out.
    expect(reaching).toContain('collector/store/store.test.ts');
    expect(reaching).toContain('test/demo.test.ts');
    expect(reaching).toEqual(expect.arrayContaining(Object.keys(SQLITE_ONLY)));
  });

  it('leaves out only files that exist, that the pass does not run, and that README names', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    for (const file of Object.keys(SQLITE_ONLY)) {
      expect(reaching, file).toContain(file);
      expect(covered(file), `${file} is both in the pass and left out`).toBe(false);
      expect(readme, `README "Tests" does not name ${file}`).toContain(path.basename(file, '.test.ts'));
    }
    for (const f of filters) expect(reaching.some((file) => file.includes(f)), `the filter ${f} matches no test`).toBe(true);
  });
});
