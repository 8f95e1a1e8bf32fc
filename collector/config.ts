// Collector configuration, read once from the environment at start-up. Every bad variable is reported
// at once, one line each, so an operator fixes a deployment in one pass instead of one restart per typo.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { type ComplianceConfig, loadComplianceConfig } from './compliance/config.ts';
import { GENERATE_SECRET, weakSecretProblems } from './auth/secret-strength.ts';
import { ConfigError } from './config-error.ts';
import { type EvidenceConfig, loadEvidenceConfig } from './evidence/config.ts';
import { CONSOLE_ENV, type ConsoleSettings, consoleSettings } from './console/config.ts';
import { DEFAULT_LIMITS, type Limits } from './http/rate-limit.ts';
import type { ThroughputLimits } from './throughput/admission.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface InfluxConfig {
  url: string;
  database: string;
  /** InfluxDB 2.x/3.x token used through the v1-compatible API; sent as `Authorization: Token ...`. */
  token?: string;
  /** InfluxDB 1.x credentials; sent as HTTP Basic auth so they never appear in a URL or a log line. */
  username?: string;
  password?: string;
  retentionPolicy?: string;
  timeoutMs: number;
  /** Create the hourly rollups (retention policy + continuous queries) at start-up; false on InfluxDB 2.x/3.x. */
  rollups?: boolean;
}

export interface RegistryConfig {
  /** Absolute; holds registry.sqlite. */
  dataDir: string;
  publicUrl?: string;
}

export interface CollectorConfig extends RegistryConfig {
  host: string;
  port: number;
  logLevel: LogLevel;
  /** Collector processes sharing the port (node:cluster); 1 = this process serves alone. */
  workers: number;
  /** The agent version agents are told to run; older ones report that they are behind. */
  recommendedAgentVersion?: string;
  adminToken: string;
  /** Signs the short-lived ndt7 test tokens (collector/throughput/auth.ts); never the admin token. */
  testTokenKey: string;
  influx: InfluxConfig;
  /** Request body cap, before and after decompression (default 1 MiB). */
  maxBodyBytes?: number;
  /** Distinct targets per probe per device (the series budget, collector/evidence/series-budget.ts). */
  maxTargetsPerProbe?: number;
  /** Rate limits (default DEFAULT_LIMITS). */
  limits?: Limits;
  /** Behind a reverse proxy: take the client address from the last X-Forwarded-For entry. */
  trustProxy?: boolean;
  /** Control channel (docs/control-channel.md); each field defaults to DEFAULT_CONTROL_OPTIONS. */
  control?: { heartbeatSeconds?: number; handshakesPerSecond?: number; handshakeBurst?: number; maxConnections?: number; deviceHandshakeBurst?: number; deviceHandshakesPerMinute?: number; messagesPerSecond?: number; messageBurst?: number; floodCooldownSeconds?: number };
  /** Throughput test server limits (docs/throughput.md "Budgets"); each field defaults to DEFAULT_THROUGHPUT_LIMITS. */
  throughput?: Partial<ThroughputLimits>;
  /** Verdicts: calendar and profiles files, reporting token, schedule (collector/compliance/config.ts). */
  compliance?: ComplianceConfig;
  /** Alert rules and channels (YAML, docs/alerts.md); default collector/alerts/alerts.default.yaml. */
  alertsFile?: string;
  /** Evidence log directory, retention and webhook (collector/evidence/config.ts); default under dataDir. */
  evidence?: EvidenceConfig;
  /** The web console (collector/console/config.ts): map tiles, Grafana links, session length. */
  console?: ConsoleSettings;
}

// Compose files often write `VAR=` to mean "unset"; treat an empty value as absent rather than invalid.
const opt = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const httpUrl = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http:// or https:// URL')
  .refine((v) => !URL.canParse(v) || (!new URL(v).username && !new URL(v).password), {
    message: 'must not contain credentials; use SONGCHECK_INFLUX_TOKEN or SONGCHECK_INFLUX_USER/PASSWORD',
  })
  .transform((v) => v.replace(/\/+$/, ''));

const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be an integer between ${min} and ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be an integer between ${min} and ${max}`);

// Database and retention policy names end up inside InfluxQL and URLs; keep them to a plain charset.
const name = z.string().trim().regex(/^[A-Za-z0-9_.-]{1,200}$/, 'must be 1-200 characters of [A-Za-z0-9_.-]');

// Read by collector/store/open.ts; checked here so a typo fails with the variable's name, before any connection.
const postgresUrl = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && /^postgres(ql)?:$/.test(new URL(v).protocol), 'must be a postgres:// URL, e.g. postgres://songcheck:secret@db.example:5432/songcheck');

const registryShape = {
  SONGCHECK_DATA_DIR: opt(z.string()),
  SONGCHECK_DATABASE_URL: opt(postgresUrl),
  SONGCHECK_PUBLIC_URL: opt(httpUrl),
};

const serveShape = {
  ...registryShape,
  SONGCHECK_HOST: opt(z.string().trim().min(1, 'must not be blank')),
  SONGCHECK_PORT: opt(intIn(0, 65535)),
  SONGCHECK_INFLUX_URL: opt(httpUrl),
  SONGCHECK_INFLUX_DB: opt(name),
  SONGCHECK_INFLUX_TOKEN: opt(z.string()),
  SONGCHECK_INFLUX_USER: opt(z.string()),
  SONGCHECK_INFLUX_PASSWORD: opt(z.string()),
  SONGCHECK_INFLUX_RP: opt(name),
  SONGCHECK_INFLUX_TIMEOUT_MS: opt(intIn(100, 600_000)),
  // Strength (placeholders, length, distinct characters) is checked below, with the variable's name.
  SONGCHECK_ADMIN_TOKEN: opt(z.string()),
  SONGCHECK_TEST_TOKEN_KEY: opt(z.string()),
  SONGCHECK_WORKERS: opt(intIn(1, 64)),
  SONGCHECK_RECOMMENDED_AGENT_VERSION: opt(z.string().trim().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, 'must be a version like 0.2.0')),
  SONGCHECK_LOG_LEVEL: opt(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })),
  SONGCHECK_MAX_BODY_BYTES: opt(intIn(1024, 256 * 1024 * 1024)),
  SONGCHECK_MAX_TARGETS_PER_PROBE: opt(intIn(1, 10_000)),
  SONGCHECK_DEVICE_RATE_PER_MINUTE: opt(intIn(1, 100_000)),
  SONGCHECK_DEVICE_RATE_BURST: opt(intIn(1, 100_000)),
  SONGCHECK_AUTH_FAILURES_PER_HOUR: opt(intIn(1, 100_000)),
  SONGCHECK_AUTH_FAILURE_BURST: opt(intIn(1, 100_000)),
  SONGCHECK_ALERTS_FILE: opt(z.string().trim().min(1)),
  SONGCHECK_INFLUX_ROLLUPS: opt(z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1')),
  SONGCHECK_TRUST_PROXY: opt(z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1')),
  SONGCHECK_CONTROL_HEARTBEAT_S: opt(intIn(1, 3600)),
  SONGCHECK_CONTROL_HANDSHAKES_PER_S: opt(intIn(1, 100_000)),
  SONGCHECK_CONTROL_HANDSHAKE_BURST: opt(intIn(1, 100_000)),
  SONGCHECK_CONTROL_MAX_CONNECTIONS: opt(intIn(1, 1_000_000)),
  SONGCHECK_CONTROL_DEVICE_HANDSHAKE_BURST: opt(intIn(1, 100_000)),
  SONGCHECK_CONTROL_DEVICE_HANDSHAKES_PER_MIN: opt(intIn(1, 100_000)),
  SONGCHECK_CONTROL_MESSAGES_PER_S: opt(intIn(1, 10_000)),
  SONGCHECK_CONTROL_MESSAGE_BURST: opt(intIn(1, 100_000)),
  SONGCHECK_CONTROL_FLOOD_COOLDOWN_S: opt(intIn(1, 86_400)),
  SONGCHECK_NDT7_MAX_CONCURRENT: opt(intIn(1, 10_000)),
  SONGCHECK_THROUGHPUT_HTTP_MAX_STREAMS: opt(intIn(1, 100_000)),
  SONGCHECK_THROUGHPUT_HTTP_STREAMS_PER_DEVICE: opt(intIn(1, 1_000)),
  SONGCHECK_THROUGHPUT_DEVICE_ATTEMPT_BURST: opt(intIn(1, 100_000)),
  SONGCHECK_THROUGHPUT_DEVICE_ATTEMPTS_PER_MIN: opt(intIn(1, 100_000)),
  SONGCHECK_THROUGHPUT_MIN_BYTES_PER_S: opt(intIn(1, 1_000_000_000)),
  SONGCHECK_THROUGHPUT_RATE_WINDOW_MS: opt(intIn(500, 60_000)),
  SONGCHECK_THROUGHPUT_IDLE_TIMEOUT_MS: opt(intIn(500, 60_000)),
  ...CONSOLE_ENV,
};

function parseEnv<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv, crossChecks?: (has: (name: string) => boolean) => string[]) {
  const result = z.object(shape).safeParse(env);
  const problems = result.success
    ? []
    : result.error.issues.map((i) => `${String(i.path[0])}: ${i.code === 'invalid_type' ? 'must be a string' : i.message}`);
  // Checks across variables only need to know which are set, so they run even when a value is bad:
  // the operator sees every problem in one pass.
  if (crossChecks) problems.push(...crossChecks((key) => env[key] !== undefined && env[key] !== ''));
  if (problems.length > 0) throw new ConfigError(problems);
  return (result as { data: z.infer<z.ZodObject<S>> }).data;
}

/** The secrets the collector trusts, by variable, as the environment gives them (empty = absent). */
function collectorSecrets(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return { SONGCHECK_ADMIN_TOKEN: env.SONGCHECK_ADMIN_TOKEN, SONGCHECK_TEST_TOKEN_KEY: env.SONGCHECK_TEST_TOKEN_KEY, SONGCHECK_REPORT_TOKEN: env.SONGCHECK_REPORT_TOKEN };
}

/**
 * Refuses a configuration built in code (tests, embedders) with a weak secret, as loadConfig refuses the
 * environment's: `startCollector` calls it, so no path starts a collector on a placeholder.
 */
export function assertStrongSecrets(config: Pick<CollectorConfig, 'adminToken' | 'testTokenKey' | 'compliance'>): void {
  const problems = weakSecretProblems({ SONGCHECK_ADMIN_TOKEN: config.adminToken, SONGCHECK_TEST_TOKEN_KEY: config.testTokenKey, SONGCHECK_REPORT_TOKEN: config.compliance?.reportToken });
  if (!config.adminToken) problems.unshift(`SONGCHECK_ADMIN_TOKEN: required; ${GENERATE_SECRET}`);
  if (!config.testTokenKey) problems.unshift(`SONGCHECK_TEST_TOKEN_KEY: required (signs ndt7 test tokens); ${GENERATE_SECRET}`);
  if (problems.length > 0) throw new ConfigError(problems);
}

function resolveDataDir(dir: string | undefined): string {
  return path.resolve(dir ?? './.data/collector');
}

/** What the registry commands of the CLI need: no InfluxDB, no admin token. */
export function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  const v = parseEnv(registryShape, env);
  return { dataDir: resolveDataDir(v.SONGCHECK_DATA_DIR), publicUrl: v.SONGCHECK_PUBLIC_URL };
}

/** Full configuration for `serve`. Throws ConfigError listing each problem as `SONGCHECK_X: reason`. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const v = parseEnv(serveShape, env, (has) => {
    const problems: string[] = [];
    if (!has('SONGCHECK_INFLUX_URL')) problems.push('SONGCHECK_INFLUX_URL: required (e.g. http://127.0.0.1:8086)');
    if (!has('SONGCHECK_ADMIN_TOKEN')) problems.push(`SONGCHECK_ADMIN_TOKEN: required; ${GENERATE_SECRET}`);
    if (!has('SONGCHECK_TEST_TOKEN_KEY')) problems.push(`SONGCHECK_TEST_TOKEN_KEY: required (signs ndt7 test tokens); ${GENERATE_SECRET}`);
    problems.push(...weakSecretProblems(collectorSecrets(env)));
    const hasUser = has('SONGCHECK_INFLUX_USER');
    const hasPassword = has('SONGCHECK_INFLUX_PASSWORD');
    if (has('SONGCHECK_INFLUX_TOKEN') && (hasUser || hasPassword)) {
      problems.push('SONGCHECK_INFLUX_TOKEN: set either a token or SONGCHECK_INFLUX_USER/PASSWORD, not both');
    }
    if (hasUser && !hasPassword) problems.push('SONGCHECK_INFLUX_PASSWORD: required when SONGCHECK_INFLUX_USER is set');
    if (hasPassword && !hasUser) problems.push('SONGCHECK_INFLUX_USER: required when SONGCHECK_INFLUX_PASSWORD is set');
    return problems;
  });
  return {
    host: v.SONGCHECK_HOST ?? '127.0.0.1',
    port: v.SONGCHECK_PORT ?? 8080,
    publicUrl: v.SONGCHECK_PUBLIC_URL,
    dataDir: resolveDataDir(v.SONGCHECK_DATA_DIR),
    adminToken: v.SONGCHECK_ADMIN_TOKEN!,
    testTokenKey: v.SONGCHECK_TEST_TOKEN_KEY!,
    logLevel: v.SONGCHECK_LOG_LEVEL ?? 'info',
    workers: v.SONGCHECK_WORKERS ?? 1,
    recommendedAgentVersion: v.SONGCHECK_RECOMMENDED_AGENT_VERSION,
    maxBodyBytes: v.SONGCHECK_MAX_BODY_BYTES ?? 1024 * 1024,
    maxTargetsPerProbe: v.SONGCHECK_MAX_TARGETS_PER_PROBE,
    limits: {
      device: {
        burst: v.SONGCHECK_DEVICE_RATE_BURST ?? DEFAULT_LIMITS.device.burst,
        perSecond: v.SONGCHECK_DEVICE_RATE_PER_MINUTE !== undefined ? v.SONGCHECK_DEVICE_RATE_PER_MINUTE / 60 : DEFAULT_LIMITS.device.perSecond,
      },
      authFailures: {
        burst: v.SONGCHECK_AUTH_FAILURE_BURST ?? DEFAULT_LIMITS.authFailures.burst,
        perSecond: v.SONGCHECK_AUTH_FAILURES_PER_HOUR !== undefined ? v.SONGCHECK_AUTH_FAILURES_PER_HOUR / 3600 : DEFAULT_LIMITS.authFailures.perSecond,
      },
    },
    trustProxy: v.SONGCHECK_TRUST_PROXY ?? false,
    control: {
      ...(v.SONGCHECK_CONTROL_HEARTBEAT_S !== undefined ? { heartbeatSeconds: v.SONGCHECK_CONTROL_HEARTBEAT_S } : {}),
      ...(v.SONGCHECK_CONTROL_HANDSHAKES_PER_S !== undefined ? { handshakesPerSecond: v.SONGCHECK_CONTROL_HANDSHAKES_PER_S } : {}),
      ...(v.SONGCHECK_CONTROL_HANDSHAKE_BURST !== undefined ? { handshakeBurst: v.SONGCHECK_CONTROL_HANDSHAKE_BURST } : {}),
      ...(v.SONGCHECK_CONTROL_MAX_CONNECTIONS !== undefined ? { maxConnections: v.SONGCHECK_CONTROL_MAX_CONNECTIONS } : {}),
      ...(v.SONGCHECK_CONTROL_DEVICE_HANDSHAKE_BURST !== undefined ? { deviceHandshakeBurst: v.SONGCHECK_CONTROL_DEVICE_HANDSHAKE_BURST } : {}),
      ...(v.SONGCHECK_CONTROL_DEVICE_HANDSHAKES_PER_MIN !== undefined ? { deviceHandshakesPerMinute: v.SONGCHECK_CONTROL_DEVICE_HANDSHAKES_PER_MIN } : {}),
      ...(v.SONGCHECK_CONTROL_MESSAGES_PER_S !== undefined ? { messagesPerSecond: v.SONGCHECK_CONTROL_MESSAGES_PER_S } : {}),
      ...(v.SONGCHECK_CONTROL_MESSAGE_BURST !== undefined ? { messageBurst: v.SONGCHECK_CONTROL_MESSAGE_BURST } : {}),
      ...(v.SONGCHECK_CONTROL_FLOOD_COOLDOWN_S !== undefined ? { floodCooldownSeconds: v.SONGCHECK_CONTROL_FLOOD_COOLDOWN_S } : {}),
    },
    throughput: {
      ...(v.SONGCHECK_NDT7_MAX_CONCURRENT !== undefined ? { ndt7MaxConcurrent: v.SONGCHECK_NDT7_MAX_CONCURRENT } : {}),
      ...(v.SONGCHECK_THROUGHPUT_HTTP_MAX_STREAMS !== undefined ? { httpMaxStreams: v.SONGCHECK_THROUGHPUT_HTTP_MAX_STREAMS } : {}),
      ...(v.SONGCHECK_THROUGHPUT_HTTP_STREAMS_PER_DEVICE !== undefined ? { httpStreamsPerDevice: v.SONGCHECK_THROUGHPUT_HTTP_STREAMS_PER_DEVICE } : {}),
      ...(v.SONGCHECK_THROUGHPUT_DEVICE_ATTEMPT_BURST !== undefined ? { attemptBurst: v.SONGCHECK_THROUGHPUT_DEVICE_ATTEMPT_BURST } : {}),
      ...(v.SONGCHECK_THROUGHPUT_DEVICE_ATTEMPTS_PER_MIN !== undefined ? { attemptsPerMinute: v.SONGCHECK_THROUGHPUT_DEVICE_ATTEMPTS_PER_MIN } : {}),
      ...(v.SONGCHECK_THROUGHPUT_MIN_BYTES_PER_S !== undefined ? { minBytesPerSecond: v.SONGCHECK_THROUGHPUT_MIN_BYTES_PER_S } : {}),
      ...(v.SONGCHECK_THROUGHPUT_RATE_WINDOW_MS !== undefined ? { rateWindowMs: v.SONGCHECK_THROUGHPUT_RATE_WINDOW_MS } : {}),
      ...(v.SONGCHECK_THROUGHPUT_IDLE_TIMEOUT_MS !== undefined ? { idleTimeoutMs: v.SONGCHECK_THROUGHPUT_IDLE_TIMEOUT_MS } : {}),
    },
    compliance: loadComplianceConfig(env),
    evidence: loadEvidenceConfig(resolveDataDir(v.SONGCHECK_DATA_DIR), env),
    console: consoleSettings(v),
    alertsFile: v.SONGCHECK_ALERTS_FILE === undefined ? undefined : path.resolve(v.SONGCHECK_ALERTS_FILE),
    influx: {
      url: v.SONGCHECK_INFLUX_URL!,
      database: v.SONGCHECK_INFLUX_DB ?? 'songcheck',
      token: v.SONGCHECK_INFLUX_TOKEN,
      username: v.SONGCHECK_INFLUX_USER,
      password: v.SONGCHECK_INFLUX_PASSWORD,
      retentionPolicy: v.SONGCHECK_INFLUX_RP,
      timeoutMs: v.SONGCHECK_INFLUX_TIMEOUT_MS ?? 10_000,
      rollups: v.SONGCHECK_INFLUX_ROLLUPS ?? true,
    },
  };
}

/**
 * For commands run on the collector machine that never serve HTTP (reports, verdicts, dead-letter
 * retries): the admin token and the test-token key guard the HTTP side only, so throw-away ones stand in
 * when they are not set. A weak one that is set is still refused, as `serve` would refuse it.
 */
export function loadLocalCommandConfig(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const unused = () => randomBytes(32).toString('hex');
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  return loadConfig({ SONGCHECK_ADMIN_TOKEN: unused(), SONGCHECK_TEST_TOKEN_KEY: unused(), ...given });
}

/** The configuration as it may be logged: secrets replaced by a marker that says whether one is set. */
export function redactConfig(config: CollectorConfig): Record<string, unknown> {
  const mark = (s: string | undefined) => (s === undefined ? undefined : '[redacted]');
  return {
    ...config,
    adminToken: mark(config.adminToken),
    testTokenKey: mark(config.testTokenKey),
    ...(config.compliance ? { compliance: { ...config.compliance, reportToken: mark(config.compliance.reportToken) } } : {}),
    influx: { ...config.influx, token: mark(config.influx.token), password: mark(config.influx.password) },
    // A webhook URL often carries its secret in the path or query.
    ...(config.evidence ? { evidence: { ...config.evidence, webhookUrl: mark(config.evidence.webhookUrl) } } : {}),
  };
}
