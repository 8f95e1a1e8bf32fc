// Recomputes verdicts on a schedule (node-cron, in the calendar's time zone): by default at 00:30 each
// night, yesterday, its ISO week, its month and the rolling 30 days. Recomputing overwrites the stored
// points, so a run that is repeated (two collectors, a restart) does no harm; runs never overlap.
import { createTask } from 'node-cron';
import type { Logger } from 'pino';
import type { ComplianceEngine } from './engine.ts';
import { scheduledPeriods } from './periods.ts';

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

export function startComplianceSchedule(engine: ComplianceEngine, cron: string, logger: Logger, clock: () => number = Date.now): () => void {
  const task = createTask(cron, () => runScheduledPeriods(engine, clock(), logger), { name: 'compliance', timezone: engine.timeZone, noOverlap: true });
  task.start();
  logger.info({ schedule: cron, timeZone: engine.timeZone }, 'compliance schedule started');
  return () => void task.stop();
}
