// Recomputes verdicts on a schedule (node-cron, in the calendar's time zone): by default at 00:30 each
// night, yesterday, its ISO week, its month and the rolling 30 days. Recomputing overwrites the stored
// points, so a repeated run does no harm, only wasted InfluxDB work; runs never overlap in one process.
//
// Across processes (SONGCHECK_WORKERS, or several collectors sharing PostgreSQL) the run is taken through
// the `compliance-schedule` lease in the collector's store: whoever's cron fires first runs it, renewing the
// lease while it works; the others find it held and skip. After the run the holder keeps the lease for a
// quiet period, so a collector whose clock is a few minutes behind does not run the same night again.
import { createTask } from 'node-cron';
import type { Logger } from 'pino';
import { periodic, runCounted } from '../periodic.ts';
import type { Store } from '../store/store.ts';
import type { ComplianceEngine } from './engine.ts';
import { scheduledPeriods } from './periods.ts';

export const COMPLIANCE_LEASE = 'compliance-schedule';
/** While a run works the lease is renewed each minute; a holder that dies frees it after this. */
const RUN_LEASE_MS = 5 * 60_000;
const RENEW_EVERY_MS = 60_000;
/** How long after a run the lease stays held: covers clock skew between collectors, shorter than any sane schedule. */
export const QUIET_AFTER_RUN_MS = 30 * 60_000;

export async function runScheduledPeriods(engine: ComplianceEngine, now: number, logger?: Logger): Promise<number> {
  let failures = 0;
  for (const period of scheduledPeriods(engine.timeZone, now)) {
    try {
      await engine.run(period);
    } catch (err) {
      failures++;
      logger?.error({ period: period.label, err }, 'compliance run failed; the next scheduled run retries');
    }
  }
  return failures;
}

export interface ScheduleLease {
  store: Pick<Store, 'tryLease'>;
  /** This process, in the lease. */
  holder: string;
}

/**
 * One scheduled run if this process takes the lease: the number of failed periods, or undefined when
 * another process holds it (it runs, or ran within the quiet period). A store that cannot be reached
 * skips the run too (logged): running blind could repeat it on every collector.
 */
export async function runScheduledOnce(engine: ComplianceEngine, lease: ScheduleLease, clock: () => number, logger?: Logger): Promise<number | undefined> {
  const take = (ttlMs: number) => lease.store.tryLease(COMPLIANCE_LEASE, lease.holder, clock(), ttlMs);
  try {
    if (!(await take(RUN_LEASE_MS))) {
      logger?.info('compliance run skipped: another collector process runs it (lease compliance-schedule)');
      return undefined;
    }
  } catch (err) {
    logger?.error({ err }, 'compliance run skipped: the lease could not be read; the next scheduled run retries');
    return undefined;
  }
  // A failed renewal is logged and counted (`compliance.lease-renewal` in /healthz); the next minute tries again.
  const renew = periodic('compliance.lease-renewal', RENEW_EVERY_MS, () => take(RUN_LEASE_MS), logger ? { logger } : {});
  try {
    return await runScheduledPeriods(engine, clock(), logger);
  } finally {
    await renew.stop();
    await take(QUIET_AFTER_RUN_MS).catch((err: unknown) => logger?.warn({ err }, 'could not keep the compliance-schedule lease after the run'));
  }
}

/**
 * Starts the cron. Each run is counted in /healthz as `compliance.schedule` (collector/periodic.ts), a run
 * with failed periods as a failure. The returned stop waits for a run in progress, so the store it writes
 * its lease to is still open.
 */
export function startComplianceSchedule(engine: ComplianceEngine, cron: string, lease: ScheduleLease, logger: Logger, clock: () => number = Date.now): () => Promise<void> {
  let running: Promise<void> | undefined;
  const run = () =>
    (running ??= runCounted('compliance.schedule', async () => {
      const failures = await runScheduledOnce(engine, lease, clock, logger);
      if (failures) throw new Error(`${failures} period(s) could not be computed`);
    }, logger).finally(() => (running = undefined)));
  const task = createTask(cron, run, { name: 'compliance', timezone: engine.timeZone, noOverlap: true });
  // node-cron's start and stop may return promises: a failure is logged, never left unhandled.
  Promise.resolve(task.start()).catch((err: unknown) => logger.error({ err }, 'compliance schedule could not start'));
  logger.info({ schedule: cron, timeZone: engine.timeZone }, 'compliance schedule started');
  return async () => {
    await Promise.resolve(task.stop()).catch((err: unknown) => logger.warn({ err }, 'compliance schedule could not stop'));
    await running;
  };
}
