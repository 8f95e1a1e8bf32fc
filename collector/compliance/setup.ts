// Builds the compliance engine from the configuration for the server and the CLI: reads the calendar
// and profiles files (failing at start with the file and path of any mistake), and starts the schedule.
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import type { InfluxWriter } from '../influx/writer.ts';
import type { Registry } from '../registry/registry.ts';
import { loadCalendar, type SchoolCalendar } from '../school/calendar.ts';
import type { ComplianceConfig } from './config.ts';
import { ComplianceEngine } from './engine.ts';
import { loadProfiles, type Profiles } from '../school/profiles.ts';
import { startComplianceSchedule } from './scheduler.ts';

export interface ComplianceSetup {
  engine: ComplianceEngine;
  /** The calendar and profiles loaded from the configured files; the alert rules use the same ones. */
  calendar: SchoolCalendar;
  profiles: Profiles;
  reportToken?: string;
  /** Stops the schedule, waiting for a run in progress. */
  stop(): Promise<void>;
}

export function createCompliance(config: ComplianceConfig, deps: { registry: Registry; writer: InfluxWriter; logger: Logger; schedule?: boolean }): ComplianceSetup {
  const calendar = loadCalendar(config.calendarFile);
  const profiles = loadProfiles(config.profilesFile);
  const engine = new ComplianceEngine({ writer: deps.writer, registry: deps.registry, calendar, profiles, logger: deps.logger });
  // With SONGCHECK_WORKERS > 1 only the first worker of each machine keeps a schedule; across machines the
  // `compliance-schedule` lease in the shared store lets one run (recomputing twice is harmless, only wasteful).
  const scheduled = deps.schedule !== false && config.schedule && (!cluster.isWorker || cluster.worker?.id === 1);
  const lease = { store: deps.registry.store, holder: `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}` };
  const stop = scheduled ? startComplianceSchedule(engine, config.schedule!, lease, deps.logger) : async () => {};
  return { engine, calendar, profiles, ...(config.reportToken ? { reportToken: config.reportToken } : {}), stop };
}
