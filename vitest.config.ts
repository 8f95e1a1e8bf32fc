import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['agent/**/*.test.ts', 'collector/**/*.test.ts', 'protocol/**/*.test.ts', 'scripts/**/*.test.ts', 'test/**/*.test.ts'],
    // One real InfluxDB server for the whole run; tests that stop InfluxDB start their own.
    globalSetup: ['test/support/global-influxd.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration tests start servers and child processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: '.ci-report/vitest.json' }]],
  },
});
