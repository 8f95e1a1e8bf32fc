// Talks to InfluxDB through its v1 HTTP API (/write, /query, /ping), which 1.x serves natively and
// 2.x/3.x serve through their v1-compatible endpoints: one code path for all three. Requests go through
// the official client's transport (auth header, timeout, error decoding); retries are the agent's job,
// so this module only classifies failures and never retries by itself.
import { HttpError, InfluxDB, type Point, type Transport } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import type { InfluxConfig } from '../config.ts';
import { classifyWriteError, influxMessage } from './errors.ts';
import { toLine } from './points.ts';

export interface PingResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface QuerySeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
export interface QueryResponse {
  results: { statement_id: number; series?: QuerySeries[]; error?: string }[];
}

export interface InfluxWriter {
  /** Base URL, without credentials; safe to show in /healthz. */
  readonly url: string;
  readonly database: string;
  /** Resolves only once InfluxDB answered 2xx. Rejects with RetryableWriteError or PermanentWriteError. */
  write(points: Point[]): Promise<void>;
  /** The same for lines already serialised (the dead-letter store keeps the exact line InfluxDB refused). */
  writeLines(lines: string[]): Promise<void>;
  ping(): Promise<PingResult>;
  /** InfluxQL against the configured database; timestamps as epoch ms. */
  query(q: string): Promise<QueryResponse>;
  /** CREATE DATABASE (idempotent on 1.x). On 2.x/3.x the database must already exist: failure is only logged. */
  ensureDatabase(): Promise<{ ok: boolean; error?: string }>;
}

export interface WriterOptions {
  logger?: Logger;
}

function authHeaders(config: InfluxConfig): Record<string, string> {
  if (config.username === undefined) return {};
  // Basic auth rather than u/p query parameters, so the password never sits in a URL that a proxy logs.
  const basic = Buffer.from(`${config.username}:${config.password ?? ''}`, 'utf8').toString('base64');
  return { authorization: `Basic ${basic}` };
}

function describe(error: unknown): string {
  if (error instanceof HttpError) return `${error.statusCode}: ${influxMessage(error)}`;
  const e = error as { code?: string; message?: string };
  return [e?.code, e?.message].filter(Boolean).join(' ') || String(error);
}

export function createInfluxWriter(config: InfluxConfig, options: WriterOptions = {}): InfluxWriter {
  const client = new InfluxDB({
    url: config.url,
    token: config.token,
    timeout: config.timeoutMs,
    headers: authHeaders(config),
  });
  const transport: Transport = client.transport;
  const log = options.logger;

  const writePath = () => {
    const params = new URLSearchParams({ db: config.database, precision: 'ms' });
    if (config.retentionPolicy) params.set('rp', config.retentionPolicy);
    return `/write?${params}`;
  };

  async function query(q: string, method: 'GET' | 'POST' = 'GET'): Promise<QueryResponse> {
    const params = new URLSearchParams({ db: config.database, q, epoch: 'ms' });
    const response = (await transport.request(`/query?${params}`, '', {
      method,
      headers: { accept: 'application/json' },
    })) as QueryResponse;
    const failed = response?.results?.find((r) => r.error);
    if (failed) throw new Error(`InfluxQL error: ${failed.error}`);
    return response;
  }

  async function writeLines(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    const body = lines.join('\n');
    try {
      await transport.request(writePath(), body, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
    } catch (error) {
      throw classifyWriteError(error);
    }
  }

  return {
    url: config.url,
    database: config.database,

    write: (points) => writeLines(points.map(toLine)),
    writeLines,

    async ping() {
      const started = performance.now();
      try {
        await transport.request('/ping', '', { method: 'GET' });
        return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
      } catch (error) {
        return { ok: false, latencyMs: Math.round((performance.now() - started) * 10) / 10, error: describe(error) };
      }
    },

    // SELECT ... INTO writes, and InfluxDB 1.x takes it only as a POST.
    query: (q) => query(q, /^\s*(SELECT|SHOW)\b/i.test(q) && !/\bINTO\b/i.test(q) ? 'GET' : 'POST'),

    async ensureDatabase() {
      try {
        await query(`CREATE DATABASE "${config.database.replace(/["\\]/g, '')}"`, 'POST');
        log?.info({ database: config.database }, 'InfluxDB database ready');
        return { ok: true };
      } catch (error) {
        const message = describe(error);
        // Expected on 2.x/3.x (the v1 API cannot create buckets) and with a non-admin 1.x user: not fatal
        // as long as the database exists, which the first write will tell.
        log?.warn({ database: config.database, error: message }, 'could not create the InfluxDB database; it must already exist');
        return { ok: false, error: message };
      }
    },
  };
}
