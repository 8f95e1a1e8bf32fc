// One log line per request, with the request id that the error body also carries. Only method, path,
// status and timing are logged: never headers (tokens) or bodies (measurements).
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv } from './env.ts';

export function accessLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const entry = {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      device: c.get('device')?.device.id,
    };
    if (status >= 500) logger.warn(entry, 'request failed');
    else logger.info(entry, 'request');
  };
}
