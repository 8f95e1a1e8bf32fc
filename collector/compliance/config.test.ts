import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config-error.ts';
import { DEFAULT_COMPLIANCE_SCHEDULE, loadComplianceConfig } from './config.ts';

describe('compliance configuration', () => {
  it('defaults to the nightly schedule and the shipped files', () => {
    expect(loadComplianceConfig({})).toEqual({ schedule: DEFAULT_COMPLIANCE_SCHEDULE });
    expect(loadComplianceConfig({ SONGCHECK_COMPLIANCE_SCHEDULE: 'off', SONGCHECK_REPORT_TOKEN: '' })).toEqual({});
    expect(loadComplianceConfig({ SONGCHECK_REPORT_TOKEN: 'r'.repeat(16), SONGCHECK_CALENDAR_FILE: '/etc/cal.yaml' })).toMatchObject({ reportToken: 'r'.repeat(16), calendarFile: '/etc/cal.yaml' });
  });

  it('names every bad variable', () => {
    let problems: string[] = [];
    try {
      loadComplianceConfig({ SONGCHECK_COMPLIANCE_SCHEDULE: '*/5 * * * *', SONGCHECK_REPORT_TOKEN: 'short' });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      'SONGCHECK_REPORT_TOKEN: must be at least 16 characters',
      'SONGCHECK_COMPLIANCE_SCHEDULE: must be a 6-field cron expression (sec min hour day month weekday) or "off"',
    ]);
  });
});
