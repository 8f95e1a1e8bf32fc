import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.ts';
import { strongToken } from '../test/support/secrets.ts';
import { assertStrongSecrets, loadConfig, loadLocalCommandConfig, loadRegistryConfig, redactConfig } from './config.ts';

const base = { SONGCHECK_INFLUX_URL: 'http://127.0.0.1:8086/', SONGCHECK_ADMIN_TOKEN: strongToken(), SONGCHECK_TEST_TOKEN_KEY: strongToken() };
const GENERATE = 'generate one with `openssl rand -hex 32`';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads the body cap, rate limits and proxy trust, with defaults', () => {
    expect(loadConfig(base)).toMatchObject({
      maxBodyBytes: 1024 * 1024,
      trustProxy: false,
      limits: { device: { burst: 30, perSecond: 1 }, authFailures: { burst: 10, perSecond: 1 / 120 } },
    });
    const c = loadConfig({
      ...base,
      SONGCHECK_MAX_BODY_BYTES: '2097152',
      SONGCHECK_DEVICE_RATE_PER_MINUTE: '120',
      SONGCHECK_DEVICE_RATE_BURST: '60',
      SONGCHECK_AUTH_FAILURES_PER_HOUR: '60',
      SONGCHECK_AUTH_FAILURE_BURST: '5',
      SONGCHECK_TRUST_PROXY: 'true',
    });
    expect(c).toMatchObject({ maxBodyBytes: 2_097_152, trustProxy: true, limits: { device: { burst: 60, perSecond: 2 }, authFailures: { burst: 5, perSecond: 1 / 60 } } });
    expect(problems({ ...base, SONGCHECK_MAX_BODY_BYTES: '10', SONGCHECK_TRUST_PROXY: 'yes', SONGCHECK_DEVICE_RATE_PER_MINUTE: '0' })).toEqual([
      'SONGCHECK_MAX_BODY_BYTES: must be an integer between 1024 and 268435456',
      'SONGCHECK_DEVICE_RATE_PER_MINUTE: must be an integer between 1 and 100000',
      'SONGCHECK_TRUST_PROXY: must be true or false',
    ]);
  });

  it('reads the throughput and control-message budgets, and names a bad one', () => {
    const c = loadConfig({ ...base, SONGCHECK_THROUGHPUT_HTTP_STREAMS_PER_DEVICE: '4', SONGCHECK_THROUGHPUT_MIN_BYTES_PER_S: '2048', SONGCHECK_THROUGHPUT_IDLE_TIMEOUT_MS: '3000', SONGCHECK_NDT7_MAX_CONCURRENT: '2' });
    expect(c.throughput).toEqual({ httpStreamsPerDevice: 4, minBytesPerSecond: 2048, idleTimeoutMs: 3000, ndt7MaxConcurrent: 2 });
    expect(loadConfig(base).throughput).toEqual({});
    expect(loadConfig({ ...base, SONGCHECK_CONTROL_MESSAGES_PER_S: '2', SONGCHECK_CONTROL_MESSAGE_BURST: '10', SONGCHECK_CONTROL_FLOOD_COOLDOWN_S: '30', SONGCHECK_CONTROL_DEVICE_HANDSHAKE_BURST: '3' }).control).toEqual({ messagesPerSecond: 2, messageBurst: 10, floodCooldownSeconds: 30, deviceHandshakeBurst: 3 });
    expect(problems({ ...base, SONGCHECK_THROUGHPUT_RATE_WINDOW_MS: '10' })).toEqual(['SONGCHECK_THROUGHPUT_RATE_WINDOW_MS: must be an integer between 500 and 60000']);
  });

  it('fills defaults and trims the trailing slash of the InfluxDB URL', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      logLevel: 'info',
      workers: 1,
      influx: { url: 'http://127.0.0.1:8086', database: 'songcheck', timeoutMs: 10_000 },
    });
    expect(c.dataDir).toMatch(/\/\.data\/collector$/);
    expect(c.influx.token).toBeUndefined();
  });

  it('reads every variable', () => {
    const c = loadConfig({
      ...base,
      SONGCHECK_HOST: '0.0.0.0',
      SONGCHECK_PORT: '0',
      SONGCHECK_INFLUX_DB: 'sc',
      SONGCHECK_INFLUX_USER: 'u',
      SONGCHECK_INFLUX_PASSWORD: 'p',
      SONGCHECK_INFLUX_RP: 'autogen',
      SONGCHECK_INFLUX_TIMEOUT_MS: '2500',
      SONGCHECK_DATA_DIR: '/tmp/x',
      SONGCHECK_LOG_LEVEL: 'debug',
      SONGCHECK_PUBLIC_URL: 'https://songcheck.example.vn',
      SONGCHECK_WORKERS: '2',
    });
    expect(c).toMatchObject({ host: '0.0.0.0', port: 0, dataDir: '/tmp/x', logLevel: 'debug', publicUrl: 'https://songcheck.example.vn', workers: 2 });
    expect(c.influx).toEqual({ url: 'http://127.0.0.1:8086', database: 'sc', username: 'u', password: 'p', retentionPolicy: 'autogen', timeoutMs: 2500, token: undefined, rollups: true });
  });

  it('lists one line per bad variable, each naming the variable', () => {
    expect(
      problems({
        SONGCHECK_PORT: '80a',
        SONGCHECK_INFLUX_URL: 'localhost:8086',
        SONGCHECK_ADMIN_TOKEN: 'short',
        SONGCHECK_LOG_LEVEL: 'loud',
        SONGCHECK_INFLUX_TIMEOUT_MS: '-1',
      }),
    ).toEqual([
      'SONGCHECK_PORT: must be an integer between 0 and 65535',
      'SONGCHECK_INFLUX_URL: must be an http:// or https:// URL',
      'SONGCHECK_INFLUX_TIMEOUT_MS: must be an integer between 100 and 600000',
      'SONGCHECK_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
      `SONGCHECK_TEST_TOKEN_KEY: required (signs ndt7 test tokens); ${GENERATE}`,
      `SONGCHECK_ADMIN_TOKEN: is too short (5 characters; at least 32); ${GENERATE}`,
    ]);
  });

  it('requires the InfluxDB URL, the admin token and the test-token key, treating empty values as unset', () => {
    expect(problems({ SONGCHECK_INFLUX_URL: '', SONGCHECK_INFLUX_RP: '', SONGCHECK_TEST_TOKEN_KEY: '' })).toEqual([
      'SONGCHECK_INFLUX_URL: required (e.g. http://127.0.0.1:8086)',
      `SONGCHECK_ADMIN_TOKEN: required; ${GENERATE}`,
      `SONGCHECK_TEST_TOKEN_KEY: required (signs ndt7 test tokens); ${GENERATE}`,
    ]);
  });

  it('refuses placeholder and low-entropy secrets, one line each naming the variable and how to make a good one', () => {
    expect(problems({ ...base, SONGCHECK_ADMIN_TOKEN: 'changeme', SONGCHECK_TEST_TOKEN_KEY: 'a'.repeat(16), SONGCHECK_REPORT_TOKEN: 'x'.repeat(40) })).toEqual([
      `SONGCHECK_ADMIN_TOKEN: is a placeholder (it contains "changeme"); ${GENERATE}`,
      `SONGCHECK_TEST_TOKEN_KEY: is too short (16 characters; at least 32); ${GENERATE}`,
      `SONGCHECK_REPORT_TOKEN: has too few distinct characters (1; at least 8); ${GENERATE}`,
    ]);
    // One secret for two jobs: the test-token key would sign with the admin token, the report token would be an admin.
    expect(problems({ ...base, SONGCHECK_TEST_TOKEN_KEY: base.SONGCHECK_ADMIN_TOKEN, SONGCHECK_REPORT_TOKEN: base.SONGCHECK_ADMIN_TOKEN })).toEqual([
      `SONGCHECK_TEST_TOKEN_KEY: must differ from SONGCHECK_ADMIN_TOKEN (each secret has its own job); ${GENERATE}`,
      `SONGCHECK_REPORT_TOKEN: must differ from SONGCHECK_ADMIN_TOKEN (each secret has its own job); ${GENERATE}`,
    ]);
    // Local commands (reports, dead-letter retries) need no HTTP secret, but a weak one that is set is refused.
    expect(loadLocalCommandConfig({ SONGCHECK_INFLUX_URL: 'http://127.0.0.1:8086', SONGCHECK_ADMIN_TOKEN: '' }).influx.url).toBe('http://127.0.0.1:8086');
    expect(() => loadLocalCommandConfig({ SONGCHECK_INFLUX_URL: 'http://127.0.0.1:8086', SONGCHECK_ADMIN_TOKEN: 'changeme' })).toThrow(/SONGCHECK_ADMIN_TOKEN: is a placeholder/);
    // A configuration built in code (not from the environment) is held to the same rule by startCollector.
    expect(() => assertStrongSecrets({ adminToken: 'test-admin-token-0123', testTokenKey: strongToken() })).toThrow(/SONGCHECK_ADMIN_TOKEN: is too short/);
  });

  it('refuses a token together with a user/password, and half a user/password', () => {
    expect(problems({ ...base, SONGCHECK_INFLUX_TOKEN: 't', SONGCHECK_INFLUX_USER: 'u', SONGCHECK_INFLUX_PASSWORD: 'p' })).toEqual([
      'SONGCHECK_INFLUX_TOKEN: set either a token or SONGCHECK_INFLUX_USER/PASSWORD, not both',
    ]);
    expect(problems({ ...base, SONGCHECK_INFLUX_USER: 'u' })).toEqual(['SONGCHECK_INFLUX_PASSWORD: required when SONGCHECK_INFLUX_USER is set']);
  });

  it('refuses credentials inside the InfluxDB URL (it is shown in /healthz)', () => {
    expect(problems({ ...base, SONGCHECK_INFLUX_URL: 'http://admin:secret@127.0.0.1:8086' })[0]).toMatch(/^SONGCHECK_INFLUX_URL: must not contain credentials/);
  });

  it('never puts a secret in the error message or the loggable form', () => {
    const secret = 'super-secret-password';
    let message = '';
    try {
      loadConfig({ ...base, SONGCHECK_INFLUX_USER: 'u', SONGCHECK_INFLUX_PASSWORD: secret, SONGCHECK_INFLUX_TOKEN: secret });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toContain(secret);
    const c = loadConfig({ ...base, SONGCHECK_INFLUX_TOKEN: secret });
    expect(JSON.stringify(redactConfig(c))).not.toContain(secret);
    expect(JSON.stringify(redactConfig(c))).not.toContain(base.SONGCHECK_ADMIN_TOKEN);
    expect(JSON.stringify(redactConfig(c))).not.toContain(base.SONGCHECK_TEST_TOKEN_KEY);
  });
});

describe('loadRegistryConfig', () => {
  it('needs neither InfluxDB nor the admin token', () => {
    expect(loadRegistryConfig({ SONGCHECK_DATA_DIR: '/tmp/reg' })).toEqual({ dataDir: '/tmp/reg', publicUrl: undefined });
  });

  it('checks SONGCHECK_DATABASE_URL before any connection', () => {
    expect(() => loadRegistryConfig({ SONGCHECK_DATABASE_URL: 'postgres://songcheck:secret@db:5432/songcheck' })).not.toThrow();
    expect(() => loadRegistryConfig({ SONGCHECK_DATABASE_URL: 'mysql://db/songcheck' })).toThrow(/SONGCHECK_DATABASE_URL: must be a postgres:\/\/ URL/);
  });
});
