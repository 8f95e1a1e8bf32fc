import { requestFor } from './request-for.ts';

export interface HttpResponse {
  status: number;
  header(name: string): string | undefined;
  text: string;
}

export type PostJson = (url: URL, body: string, opts: { headers?: Record<string, string>; signal: AbortSignal }) => Promise<HttpResponse>;

/** Answers larger than this are cut: the collector's replies are small, and a proxy's error page is not read whole. */
const MAX_RESPONSE_BYTES = 4 * 2 ** 20;

/**
 * POSTs JSON with node:http(s). The agent avoids the global fetch: loading undici costs about 10 MB of
 * resident memory on a machine where the whole agent should stay near 60 MB.
 */
export const postJson: PostJson = (url, body, { headers = {}, signal }) =>
  send(url, 'POST', body, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers }, signal);

/** One GET, for `status` and `doctor` (the collector's /healthz and its Date header). */
export const getOnce = (url: URL, { signal }: { signal: AbortSignal }): Promise<HttpResponse> =>
  send(url, 'GET', undefined, { 'user-agent': 'songcheck-agent' }, signal);

async function send(url: URL, method: string, body: string | undefined, headers: Record<string, string>, signal: AbortSignal): Promise<HttpResponse> {
  const request = await requestFor(url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, signal, headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          header: (name) => {
            const v = res.headers[name.toLowerCase()];
            return Array.isArray(v) ? v[0] : v;
          },
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
