import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config-error.ts';
import { strongToken } from '../../test/support/secrets.ts';
import { DEFAULT_COMPLIANCE_SCHEDULE, loadComplianceConfig } from './config.ts';

describe('compliance configuration', () => {
  it('defaults to the nightly schedule and the shipped files', () => {
    expect(loadComplianceConfig({})).toEqual({ schedule: DEFAULT_COMPLIANCE_SCHEDULE });
    expect(loadComplianceConfig({ SONGCHECK_COMPLIANCE_SCHEDULE: 'off', SONGCHECK_REPORT_TOKEN: '' })).toEqual({});
    const reportToken = strongToken();
    expect(loadComplianceConfig({ SONGCHECK_REPORT_TOKEN: reportToken, SONGCHECK_CALENDAR_FILE: '/etc/cal.yaml' })).toMatchObject({ reportToken, calendarFile: '/etc/cal.yaml' });
  });

  it('names every bad variable', () => {
    let problems: string[] = [];
    try {
      // The reporting token's strength is checked with the other secrets (collector/config.test.ts).
      loadComplianceConfig({ SONGCHECK_COMPLIANCE_SCHEDULE: '*/5 * * * *', SONGCHECK_CALENDAR_FILE: '' });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      'SONGCHECK_COMPLIANCE_SCHEDULE: must be a 6-field cron expression (sec min hour day month weekday) or "off"',
    ]);
  });
});
