// The control channel's admin routes through app.request(): validation, errors a person can act on, and
// what they store.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createDb, uniqueTestDb } from '../../test/support/influx-query.ts';
import { createTestCollector, type TestCollector } from '../../test/support/collector-app.ts';

const influxUrl = inject('influxUrl');
let tc: TestCollector;
const post = (path: string, body: unknown) => tc.app.request(`/api/v1/admin${path}`, { method: 'POST', headers: tc.adminAuth(), body: JSON.stringify(body) });
const get = (path: string) => tc.app.request(`/api/v1/admin${path}`, { headers: tc.adminAuth() });

beforeEach(async () => {
  const db = uniqueTestDb('control_admin');
  await createDb(influxUrl, db);
  tc = await createTestCollector({ influxUrl, db });
  await tc.registry.updateSite('LC-001', { groups: ['pilot'] });
});
afterEach(() => tc.cleanup());

describe('control admin API', () => {
  it('stores a valid configuration for a group and shows the device pending', async () => {
    const res = await post('/agent-configs', { target: { group: 'pilot' }, config: { upload: { intervalSeconds: 30 }, probes: { icmp: { enabled: false } } } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { version: number; scope: string; devices: number };
    expect(body).toMatchObject({ scope: 'group:pilot', devices: 1 });
    const status = (await (await get('/agent-configs/status?state=pending')).json()) as { counts: Record<string, number>; devices: unknown[] };
    expect(status.counts).toEqual({ pending: 1, applied: 0, rejected: 0, none: 0 });
    expect(status.devices).toEqual([expect.objectContaining({ deviceId: tc.deviceId, wantedVersion: body.version, state: 'pending' })]);
    const list = (await (await get('/agent-configs')).json()) as { configs: { version: number }[] };
    expect(list.configs.map((c) => c.version)).toEqual([body.version]);
  });

  it('refuses a configuration the agent would refuse, naming each problem, and stores nothing', async () => {
    const cases: [unknown, RegExp][] = [
      [{ target: { all: true }, config: { probes: { tcp: { schedule: 'every minute' } } } }, /probes\.tcp\.schedule: not a valid cron/],
      [{ target: { all: true }, config: { uplod: {} } }, /uplod/],
      [{ target: { all: true }, config: { collectorUrl: 'http://evil.example' } }, /collectorUrl cannot be set remotely/],
      [{ target: { all: true }, config: { control: { enabled: false } } }, /cannot be turned off remotely/],
      [{ target: { all: true, site: 'LC-001' }, config: {} }, /exactly one of site, group or all/],
      [{ target: { group: 'nowhere' }, config: {} }, /no site is in group "nowhere"/],
      [{ target: { all: true }, config: [] }, /config: must be an object/],
    ];
    for (const [body, message] of cases) {
      const res = await post('/agent-configs', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
    }
    expect(((await post('/agent-configs', { target: { site: 'NOPE-1' }, config: {} })).status)).toBe(404);
    expect(((await (await get('/agent-configs')).json()) as { configs: unknown[] }).configs).toEqual([]);
  });

  it('queues run-probe commands for a site and shows them; unknown probes and commands are clear errors', async () => {
    const res = await post('/commands', { target: { site: 'LC-001' }, command: { kind: 'run_probe', probe: 'tcp', targets: ['127.0.0.1:9'] } });
    expect(res.status).toBe(201);
    const { commands } = (await res.json()) as { commands: { id: string; deviceId: string; status: string }[] };
    expect(commands).toEqual([expect.objectContaining({ deviceId: tc.deviceId, status: 'pending' })]);
    expect(((await (await get(`/commands/${commands[0]!.id}`)).json()) as { command: { status: string } }).command.status).toBe('pending');
    expect(((await (await get(`/commands?device=${tc.deviceId}`)).json()) as { commands: unknown[] }).commands).toHaveLength(1);

    const unknown = await post('/commands', { target: { site: 'LC-001' }, command: { kind: 'run_probe', probe: 'teleport' } });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/unknown probe 'teleport' \(known: /);
    const missing = await get('/commands/cmd_0000000000000000');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('command_not_found');
    expect((await get('/commands/nope')).status).toBe(400);
  });
});
