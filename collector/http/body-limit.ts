// Caps request bodies, before and after decompression, and accepts gzip (agents on metered links save a
// lot: a batch of results compresses about 10:1).
//
// Fast path: an uncompressed body with Content-Length is judged by the header alone, because Node's HTTP
// parser never delivers more body than declared. Reading `c.req.raw.body` makes @hono/node-server build
// a full web Request and pipe the body through a web ReadableStream, a large share of the CPU of a
// measurement batch, so the common case never touches the stream here.
//
// Otherwise (chunked, or gzip) the body is read here chunk by chunk: the raw bytes are counted, gzip is
// inflated as a stream and the inflated bytes are counted, and the first byte over the cap ends the
// request with 413. A compressed bomb costs at most `maxBytes` of input and `maxBytes` of output, never
// its full size. The route then reads the (decompressed) body as usual.
import { once } from 'node:events';
import zlib from 'node:zlib';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';
import { errorResponse } from './errors.ts';

export interface BodyLimitOptions {
  /** The cap for this request, in bytes (routes that take files may allow more). */
  maxBytes(c: Context<AppEnv>): number;
}

const MiB = 1024 * 1024;
const describeSize = (bytes: number) => (bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`);

class TooLarge extends Error {}
class BadEncoding extends Error {}

async function collect(body: ReadableStream<Uint8Array>, maxBytes: number, gzip: boolean): Promise<Uint8Array> {
  const reader = body.getReader();
  const out: Buffer[] = [];
  let outBytes = 0;
  let failure: Error | undefined;
  const inflate = gzip ? zlib.createGunzip() : undefined;
  let inflated: Promise<unknown> = Promise.resolve();
  if (inflate) {
    inflate.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxBytes) {
        failure ??= new TooLarge();
        inflate.destroy();
      } else out.push(chunk);
    });
    inflate.on('error', (error) => {
      failure ??= new BadEncoding(error.message);
    });
    inflated = new Promise((resolve) => {
      inflate.once('end', resolve);
      inflate.once('close', resolve);
    });
  }
  try {
    let inBytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      inBytes += value.length;
      if (inBytes > maxBytes) failure ??= new TooLarge();
      if (failure) break;
      if (!inflate) {
        out.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        outBytes = inBytes;
        continue;
      }
      if (!inflate.write(value)) await Promise.race([once(inflate, 'drain'), inflated]);
      if (failure) break;
    }
    if (inflate && !failure) {
      inflate.end();
      await inflated;
    }
  } finally {
    if (failure) {
      inflate?.destroy();
      // Stop reading: the rest of the body is never pulled from the socket.
      await reader.cancel().catch(() => {});
    }
  }
  if (failure) throw failure;
  return Buffer.concat(out, outBytes);
}

export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const maxBytes = options.maxBytes(c);
    const tooLarge = () =>
      errorResponse(c, 413, 'payload_too_large', `request body is larger than ${describeSize(maxBytes)}${c.req.header('content-encoding') ? ' (after decompression)' : ''}; send less per request`);
    const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
    const gzip = encoding === 'gzip' || encoding === 'x-gzip';
    if (!gzip && encoding !== 'identity' && encoding !== '') {
      return errorResponse(c, 415, 'unsupported_media_type', `Content-Encoding "${encoding.slice(0, 40)}" is not supported; send gzip or no encoding`);
    }
    const length = c.req.header('content-length');
    const chunked = c.req.header('transfer-encoding') !== undefined;
    if (length !== undefined && !chunked) {
      if (!/^\d+$/.test(length.trim())) return errorResponse(c, 400, 'bad_request', 'Content-Length is not a number');
      if (Number(length) > maxBytes) return tooLarge();
      if (!gzip) return next();
    }
    const body = c.req.raw.body;
    if (!body) return next();
    let bytes: Uint8Array;
    try {
      bytes = await collect(body, maxBytes, gzip);
    } catch (error) {
      if (error instanceof TooLarge) return tooLarge();
      if (error instanceof BadEncoding) return errorResponse(c, 400, 'bad_request', `request body is not valid gzip: ${error.message}`);
      throw error;
    }
    const headers = new Headers(c.req.raw.headers);
    headers.delete('content-encoding');
    headers.delete('transfer-encoding');
    headers.set('content-length', String(bytes.byteLength));
    c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers, body: bytes as Uint8Array<ArrayBuffer> });
    return next();
  };
}
