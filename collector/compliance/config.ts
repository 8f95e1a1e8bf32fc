// The compliance engine's settings, from the environment (README "Configuration"):
//   SONGCHECK_CALENDAR_FILE        school calendar YAML (default: collector/school/calendar.default.yaml)
//   SONGCHECK_PROFILES_FILE        target profiles YAML (default: collector/school/profiles.default.yaml)
//   SONGCHECK_REPORT_TOKEN         read-only token for verdicts and reports (optional; a generated secret, ≥ 32 characters)
//   SONGCHECK_COMPLIANCE_SCHEDULE  6-field cron in the calendar's zone, or "off" (default 0 30 0 * * *:
//                                  00:30 every night recomputes yesterday, its week, its month and rolling30)
import { validate as validateCron } from 'node-cron';
import { z } from 'zod';
import { ConfigError } from '../config-error.ts';

export interface ComplianceConfig {
  calendarFile?: string;
  profilesFile?: string;
  reportToken?: string;
  /** undefined = off. */
  schedule?: string;
}

export const DEFAULT_COMPLIANCE_SCHEDULE = '0 30 0 * * *';

const opt = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const shape = z.object({
  SONGCHECK_CALENDAR_FILE: opt(z.string().trim().min(1)),
  SONGCHECK_PROFILES_FILE: opt(z.string().trim().min(1)),
  // Its strength is checked with the other secrets (collector/config.ts, auth/secret-strength.ts).
  SONGCHECK_REPORT_TOKEN: opt(z.string()),
  SONGCHECK_COMPLIANCE_SCHEDULE: opt(
    z.string().trim().refine((v) => v === 'off' || (v.split(/\s+/).length === 6 && validateCron(v)), 'must be a 6-field cron expression (sec min hour day month weekday) or "off"'),
  ),
});

export function loadComplianceConfig(env: NodeJS.ProcessEnv = process.env): ComplianceConfig {
  const parsed = shape.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`));
  const v = parsed.data;
  const schedule = v.SONGCHECK_COMPLIANCE_SCHEDULE ?? DEFAULT_COMPLIANCE_SCHEDULE;
  return {
    ...(v.SONGCHECK_CALENDAR_FILE ? { calendarFile: v.SONGCHECK_CALENDAR_FILE } : {}),
    ...(v.SONGCHECK_PROFILES_FILE ? { profilesFile: v.SONGCHECK_PROFILES_FILE } : {}),
    ...(v.SONGCHECK_REPORT_TOKEN ? { reportToken: v.SONGCHECK_REPORT_TOKEN } : {}),
    ...(schedule !== 'off' ? { schedule } : {}),
  };
}
