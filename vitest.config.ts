import { defineConfig } from 'vitest/config';

// Network-lab tests (namespaces, shaped links) in two kinds:
// - ACCURACY: figures judged against the shaped rate (±10 %), or round trips a few ms apart. Sharing the two
//   cores with the fault and fuzz tests would make them read CPU starvation as a slow link, so they run as
//   their own project, one at a time, after everything else.
// - TIMED: they wait on schedules and outages (minutes of a link held down, a confirmation half a minute
//   after a test) at a few Mbit/s, and judge seconds or gross rates, not CPU-sized margins. They run inside
//   the main project, beside the other tests, so their waiting does not add to the suite's length (CI's
//   budget is 20 min): test/uptime-outage-lab, test/confirmation-lab and test/busy-line-lab. (As a project of
//   their own, with the main project's groupOrder, vitest still ran them after everything else.)
const LAB_ACCURACY = ['test/throughput-lab.test.ts', 'test/long-path-lab.test.ts', 'test/boost-lab.test.ts', 'test/lan-bottleneck-lab.test.ts'];

export default defineConfig({
  test: {
    // One real InfluxDB server for the whole run; tests that stop InfluxDB start their own.
    globalSetup: ['test/support/global-influxd.ts', 'test/support/global-postgres.ts'],
    // Under SONGCHECK_TEST_DATABASE=postgres: the stores of every test on the shared PostgreSQL server.
    setupFiles: ['test/support/database-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // The PostgreSQL pass (`npm run test:postgres`, after `npm test` in .ci/run) keeps its own report.
    reporters: ['default', ['json', { outputFile: process.env.SONGCHECK_TEST_DATABASE === 'postgres' ? '.ci-report/vitest-postgres.json' : '.ci-report/vitest.json' }]],
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['agent/**/*.test.ts', 'collector/**/*.test.ts', 'dashboards/**/*.test.ts', 'protocol/**/*.test.ts', 'scripts/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...LAB_ACCURACY],
          // Integration tests start servers and child processes; two cores, so keep parallelism modest.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'lab', include: LAB_ACCURACY, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
