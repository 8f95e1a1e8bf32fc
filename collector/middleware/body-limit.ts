// Caps request bodies. Hono's bodyLimit reads `c.req.raw.body`, which makes @hono/node-server build a
// full web Request and pipe every body through a web ReadableStream: a large share of the CPU of a
// measurement batch. When the client declares Content-Length (agents always do), checking the header is
// enough, because Node's HTTP parser never delivers more body than that; chunked bodies still go through
// Hono's bodyLimit, which counts bytes as it reads them.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit as streamingBodyLimit } from 'hono/body-limit';

export function bodyLimit(maxSize: number, onError: (c: Context) => Response | Promise<Response>): MiddlewareHandler {
  const streaming = streamingBodyLimit({ maxSize, onError });
  return async (c, next) => {
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streaming(c, next);
    if (Number(length) > maxSize) return onError(c);
    await next();
  };
}
