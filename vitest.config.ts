import { defineConfig } from 'vitest/config';

// The throughput lab measures shaped links against ±10 % tolerances; sharing the two cores with the
// fault and fuzz tests would make it read CPU starvation as a slow link. It runs as its own group, alone,
// after everything else.
// The uptime outage lab holds a link down for minutes; it needs the namespaces, not the CPU, but runs here too.
const LAB = ['test/throughput-lab.test.ts', 'test/uptime-outage-lab.test.ts', 'test/long-path-lab.test.ts', 'test/boost-lab.test.ts', 'test/busy-line-lab.test.ts', 'test/lan-bottleneck-lab.test.ts', 'test/confirmation-lab.test.ts'];

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
          exclude: ['**/node_modules/**', ...LAB],
          // Integration tests start servers and child processes; two cores, so keep parallelism modest.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'lab', include: LAB, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
