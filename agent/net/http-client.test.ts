import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from './http-client.ts';

let url: URL;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.url === '/stall') return; // never answers
    res.writeHead(201, { 'retry-after': '7', 'content-type': 'application/json' });
    res.end(JSON.stringify({ echo: JSON.parse(body), auth: req.headers.authorization, type: req.headers['content-type'] }));
  });
});
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('postJson', () => {
  it('sends JSON with the given headers and returns status, headers and body', async () => {
    const res = await postJson(new URL('/x', url), '{"a":"Bản Xèo"}', { headers: { authorization: 'Bearer t' }, signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(201);
    expect(res.header('Retry-After')).toBe('7');
    expect(JSON.parse(res.text)).toEqual({ echo: { a: 'Bản Xèo' }, auth: 'Bearer t', type: 'application/json' });
  });

  it('gives up when its signal aborts, instead of waiting for a server that never answers', async () => {
    await expect(postJson(new URL('/stall', url), '{}', { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects with the socket error code when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    await expect(postJson(new URL(`http://127.0.0.1:${port}/`), '{}', { signal: AbortSignal.timeout(2_000) })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
