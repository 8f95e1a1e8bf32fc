// JSON logs to stdout (pino). Redaction is a second line of defence: the code never logs headers or
// secrets on purpose, but an `err` object or a config dump must not leak one by accident either.
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export const REDACT_PATHS = [
  'authorization',
  'token',
  'password',
  'adminToken',
  '*.authorization',
  '*.token',
  '*.password',
  '*.adminToken',
  'req.headers.authorization',
  'headers.authorization',
  'influx.token',
  'influx.password',
];

export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'songcheck-collector' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
