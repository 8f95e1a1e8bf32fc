// Issue 14, case 13, on the ndt7 server:
// - a device token in the URL: the long-lived device token was accepted as `?access_token=`, where reverse
//   proxies and access logs keep it. Only the short-lived test token may travel in a URL now; the device
//   token only in the Authorization header.
// - test tokens signed with the admin token: the key was derived from SONGCHECK_ADMIN_TOKEN. It is its own
//   secret now (SONGCHECK_TEST_TOKEN_KEY), so a token signed with a key derived from the admin token is refused.
// The real collector (startCollector) on a loopback port, real WebSocket upgrades and HTTP streams.
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { API_PREFIX } from '../../protocol/api.ts';
import type { CollectorConfig } from '../../collector/config.ts';
import { createLogger } from '../../collector/logger.ts';
import { Registry } from '../../collector/registry/registry.ts';
import { type RunningCollector, startCollector } from '../../collector/server.ts';
import { NDT7_SUBPROTOCOL } from '../../collector/throughput/ndt7-server.ts';
import { uniqueTestDb } from '../support/influx-query.ts';
import { strongToken } from '../support/secrets.ts';

const ADMIN = strongToken();
let dataDir: string;
let collector: RunningCollector;
let deviceToken: string;
let deviceId: string;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-ndt7-tokens-'));
  const registry = await Registry.open(dataDir);
  await registry.addSite({ code: 'TOK-1', name: 'ndt7 token site' });
  ({ token: deviceToken, deviceId } = await registry.enroll((await registry.createEnrollmentCode('TOK-1')).code, { hostname: 'PC-TOK' }));
  await registry.close();
  const config: CollectorConfig = {
    host: '127.0.0.1', port: 0, dataDir, adminToken: ADMIN, testTokenKey: strongToken(), logLevel: 'silent', workers: 1,
    influx: { url: inject('influxUrl'), database: uniqueTestDb('ndt7_tokens'), timeoutMs: 5000, rollups: false },
  };
  collector = await startCollector(config, { logger: createLogger('silent') });
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await collector?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** An ndt7 download upgrade: 101 (the socket is closed at once) or the refused status and its message. */
function upgrade(query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${collector.url.replace('http', 'ws')}/ndt/v7/download${query}`, [NDT7_SUBPROTOCOL], { headers });
    sockets.push(ws);
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => (ws.terminate(), resolve({ status: 101, body: '' })));
  });
}

const testToken = async (): Promise<string> => {
  const res = await fetch(`${collector.url}${API_PREFIX}/ndt7/token`, { method: 'POST', headers: { authorization: `Bearer ${deviceToken}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
};

describe('ndt7 credentials', () => {
  it('refuses the device token in the URL (?access_token=), on ndt7 and on the HTTP streams, and says where it goes', async () => {
    const refused = await upgrade(`?access_token=${encodeURIComponent(deviceToken)}`);
    // Before: 101, the device token accepted from the URL.
    expect(refused.status).toBe(401);
    expect(refused.body).toContain('only a test token may travel in the URL');
    const stream = await fetch(`${collector.url}${API_PREFIX}/throughput/download?bytes=1000&access_token=${encodeURIComponent(deviceToken)}`);
    expect(stream.status).toBe(401);
    await stream.body?.cancel();
    // The admin token in a URL is no credential here either.
    expect((await upgrade(`?access_token=${ADMIN}`)).status).toBe(401);
    // The device token in its header, and the test token in the URL, still open a test.
    expect((await upgrade('', { authorization: `Bearer ${deviceToken}` })).status).toBe(101);
    expect((await upgrade(`?access_token=${encodeURIComponent(await testToken())}`)).status).toBe(101);
  });

  it('refuses a test token signed with a key derived from the admin token (the old scheme); the test-token key is its own', async () => {
    const genuine = await testToken();
    const body = genuine.slice('sct1.'.length).split('.')[0]!;
    expect(JSON.parse(Buffer.from(body, 'base64url').toString())).toMatchObject({ d: deviceId, s: 'TOK-1' });
    // Whoever knows the admin token (or the old derivation from it) signs the same claims.
    const oldKey = createHash('sha256').update('songcheck ndt7 test token v1\0').update(ADMIN).digest();
    const forged = `sct1.${body}.${createHmac('sha256', oldKey).update(body).digest('base64url')}`;
    expect(forged).not.toBe(genuine);
    // Before: 101, the admin token's key signed test tokens.
    expect((await upgrade(`?access_token=${encodeURIComponent(forged)}`)).status).toBe(401);
    expect((await upgrade('', { authorization: `Bearer ${forged}` })).status).toBe(401);
    expect((await upgrade(`?access_token=${encodeURIComponent(genuine)}`)).status).toBe(101);
  });
});
