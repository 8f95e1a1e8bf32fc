// Starts the alert service for a running collector: loads the alerts file (a bad file stops the start with
// every problem listed, like a bad environment variable) and opens its own connection to the registry file.
import type { Logger } from 'pino';
import { ConfigError } from '../config-error.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import type { Registry } from '../registry/registry.ts';
import { openCollectorStore } from '../database.ts';
import { AlertsConfigError, loadAlertsConfig } from './config.ts';
import type { SchoolCalendar } from '../school/calendar.ts';
import type { Profiles } from '../school/profiles.ts';
import { calendarSchoolTime } from '../school/school-time.ts';
import { profileFloor } from './profile-floor.ts';
import { AlertService } from './service.ts';

export const DEFAULT_ALERTS_FILE = new URL('./alerts.default.yaml', import.meta.url).pathname;

export interface StartAlertsDeps {
  file?: string;
  dataDir: string;
  registry: Registry;
  writer: InfluxWriter;
  logger: Logger;
  /** The calendar and profiles of SONGCHECK_CALENDAR_FILE / SONGCHECK_PROFILES_FILE; the defaults otherwise. */
  calendar?: SchoolCalendar;
  profiles?: Profiles;
}

export function startAlerts(deps: StartAlertsDeps): AlertService {
  const file = deps.file ?? DEFAULT_ALERTS_FILE;
  let config;
  try {
    config = loadAlertsConfig(file);
  } catch (error) {
    if (error instanceof AlertsConfigError) throw new ConfigError(error.problems.map((p) => `SONGCHECK_ALERTS_FILE (${file}): ${p}`));
    throw error;
  }
  const getSite = (code: string) => deps.registry.getSite(code);
  const service = new AlertService({
    config, store: openCollectorStore(deps.dataDir), registry: deps.registry, query: (q) => deps.writer.query(q), logger: deps.logger,
    school: calendarSchoolTime(getSite, deps.calendar), floorFor: profileFloor(getSite, deps.profiles),
  });
  service.start();
  deps.logger.info({ file, rules: config.rules.filter((r) => r.enabled).length, channels: config.channels.length }, 'alerts started');
  return service;
}
