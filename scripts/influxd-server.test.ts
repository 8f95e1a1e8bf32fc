import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { createDb, influxQuery, uniqueTestDb } from '../test/support/influx-query.ts';
import { startInfluxd } from './influxd-server.ts';
import type { InfluxServer } from './influxd-server.ts';
import { ensureCommand, findCommand } from './system-deps.ts';

const run = promisify(execFile);

/** Servers a test started; stopped after each test even when it fails. */
const started: InfluxServer[] = [];
async function start(opts: Parameters<typeof startInfluxd>[0] = {}): Promise<InfluxServer> {
  const server = await startInfluxd(opts);
  started.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function write(url: string, db: string, lines: string): Promise<void> {
  const res = await fetch(`${url}/write?db=${encodeURIComponent(db)}&precision=ms`, { method: 'POST', body: lines });
  expect(res.status, await res.text()).toBe(204);
}

/** The error code of a failed fetch (ECONNREFUSED ...), or 'ok' if it answered. */
async function fetchError(url: string): Promise<string> {
  try {
    await (await fetch(url)).arrayBuffer();
    return 'ok';
  } catch (err) {
    return String((err as { cause?: { code?: string } }).cause?.code ?? err);
  }
}

describe('global InfluxDB (test/support/global-influxd.ts)', () => {
  it('is provided to tests and answers /ping', async () => {
    const url = inject('influxUrl');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/ping`);
    expect(res.status).toBe(204);
    expect(res.headers.get('x-influxdb-version')).toMatch(/^1\./);
  });

  it('isolates tests by database and reads points back with influxQuery', async () => {
    const url = inject('influxUrl');
    const db = uniqueTestDb('influxd server');
    expect(db).toMatch(/^influxd_server_[a-z0-9]+_[0-9a-f]{8}$/);
    await createDb(url, db);
    await write(url, db, 'rtt,site=LC-001,probe=tcp rtt_ms=42.5,ok=true 1700000000123\nrtt,site=LC-002,probe=tcp rtt_ms=80 1700000000456');
    const rows = await influxQuery(url, db, 'SELECT rtt_ms FROM rtt GROUP BY site ORDER BY time');
    expect(rows).toEqual([
      { time: 1700000000123, rtt_ms: 42.5, tags: { site: 'LC-001' } },
      { time: 1700000000456, rtt_ms: 80, tags: { site: 'LC-002' } },
    ]);
    expect(await influxQuery(url, db, 'SELECT * FROM nothing_here')).toEqual([]);
    await expect(influxQuery(url, db, 'SELECT FROM')).rejects.toThrow(/error parsing query/);
  });
});

describe('startInfluxd', () => {
  it('serves /ping and /write, with the config influxd actually read', async () => {
    const server = await start({ databases: ['songcheck'] });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.pid).toBeGreaterThan(0);
    expect((await fetch(`${server.url}/ping`)).status).toBe(204);

    await write(server.url, 'songcheck', 'throughput,site=LC-007 down_mbps=21.5 1700000000000');
    const rows = await influxQuery(server.url, 'songcheck', 'SELECT down_mbps FROM throughput');
    expect(rows).toEqual([{ time: 1700000000000, down_mbps: 21.5, tags: {} }]);

    // `influxd config` prints the configuration as influxd parsed it from our file.
    const influxd = await ensureCommand('influxd', 'influxdb');
    const { stdout } = await run(influxd, ['config', '-config', server.configFile]);
    expect(stdout).toContain(`bind-address = "127.0.0.1:${server.port}"`);
    expect(stdout).not.toContain('8088');
    expect(stdout).toMatch(/\[monitor\]\s+store-enabled = false/);
    expect(stdout).toContain('query-log-enabled = false');
    expect(stdout).toContain(`dir = "${path.join(server.dataDir, 'meta')}"`);
    expect(existsSync(server.logFile)).toBe(true);
  });

  it('stops (connection refused) and starts again on the same port with the data kept', async () => {
    const server = await start({ databases: ['outage'] });
    const { url, port } = server;
    await write(url, 'outage', 'uptime,site=LC-001 up=1i 1700000000000');

    await server.stop({ keepData: true });
    expect(server.pid).toBeUndefined();
    expect(await fetchError(`${url}/ping`)).toBe('ECONNREFUSED');
    expect(existsSync(server.dataDir)).toBe(true);

    await server.start();
    expect(server.port).toBe(port);
    expect(server.url).toBe(url);
    expect(await influxQuery(url, 'outage', 'SELECT up FROM uptime')).toEqual([{ time: 1700000000000, up: 1, tags: {} }]);
  });

  it('runs two instances at once without sharing ports or data', async () => {
    const [a, b] = await Promise.all([start({ databases: ['only_a'] }), start()]);
    expect(a.port).not.toBe(b.port);
    expect(a.dataDir).not.toBe(b.dataDir);
    const databases = async (s: InfluxServer): Promise<unknown[]> =>
      (await influxQuery(s.url, '', 'SHOW DATABASES')).map((row) => row.name);
    expect(await databases(a)).toEqual(['only_a']);
    expect(await databases(b)).toEqual([]);
  });

  it('removes its temporary data directory on stop, and keeps an explicit one', async () => {
    const temp = await startInfluxd();
    expect(existsSync(path.join(temp.dataDir, 'meta'))).toBe(true);
    await temp.stop();
    expect(existsSync(temp.dataDir)).toBe(false);
    await expect(temp.start()).rejects.toThrow(/removed by stop\(\)/);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'songcheck-test-explicit-'));
    try {
      const explicit = await startInfluxd({ dataDir: dir, databases: ['kept'] });
      await explicit.stop();
      expect(existsSync(path.join(dir, 'meta'))).toBe(true);
      expect(existsSync(path.join(dir, 'influxd.log'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails with the tail of the log when its port is taken', async () => {
    const blocker = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startInfluxd({ port })).rejects.toThrow(/address already in use/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe('ensureCommand', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('returns the absolute path of a command that is there', async () => {
    expect(path.isAbsolute(await ensureCommand('influxd', 'influxdb'))).toBe(true);
    expect(await findCommand('songcheck-no-such-command')).toBeUndefined();
  });

  it('says in one line what to install when it cannot install it', async () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000); // fault injection: not root
    const failure = ensureCommand('songcheck-no-such-command', 'songcheck-no-such-package');
    await expect(failure).rejects.toThrow(
      "songcheck needs songcheck-no-such-command: install it with 'sudo apt-get install songcheck-no-such-package' (Debian/Ubuntu)",
    );
    await expect(failure).rejects.not.toThrow(/\n/);
  });
});
