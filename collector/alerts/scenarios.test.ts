// Alert scenarios with a fake clock over the real InfluxDB and a real SQLite file; notifications go to a
// real webhook receiver on loopback.
import { Point } from '@influxdata/influxdb-client';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createDb, uniqueTestDb } from '../../test/support/influx-query.ts';
import type { SiteInput } from '../registry/site.ts';
import { createRig, local, type Rig } from './scenarios.test-support.ts';

const influxUrl = inject('influxUrl');
const MIN = 60_000;
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

async function setup(start: number, sites: SiteInput[], rules: unknown[], digestAt?: string): Promise<Rig> {
  const db = uniqueTestDb('alerts');
  await createDb(influxUrl, db);
  rig = await createRig({ influxUrl, db, start, sites, rules, digestAt });
  return rig;
}

const site = (code: string, commune = 'Bản Xèo', operator = 'viettel'): SiteInput => ({ code, name: `Điểm trường ${code}`, commune, operator, linkType: '4g' });
const silentRule = (extra: Record<string, unknown> = {}) => ({ id: 'site-silent', kind: 'site_silent', clearAfterChecks: 1, renotifyMinutes: 0, params: { silentMinutes: 30, clearMinutes: 10 }, ...extra });

/** A download test as ingest stores it (`left_out` from its flags: none here), and its confirmation. */
const download = (i: number, mbps: number, at: number) =>
  new Point('throughput').tag('site', 'LC-001').tag('direction', 'download').tag('code', 'ok').floatField('mbps', mbps).stringField('result_id', `t${i}-00000000`).booleanField('left_out', false).timestamp(at);
const confirmation = (i: number, mbps: number, firstMbps: number, at: number) =>
  new Point('throughput').tag('site', 'LC-001').tag('direction', 'download').tag('code', 'ok').floatField('mbps', mbps).stringField('result_id', `c${i}-00000000`).stringField('confirmation_of', `t${i}-00000000`).floatField('confirmation_of_mbps', firstMbps).booleanField('left_out', false).timestamp(at);

function outage(siteCode: string, start: number, end: number): Point {
  return new Point('outage').tag('site', siteCode).tag('kind', 'link_down').floatField('end_at', end).floatField('duration_s', (end - start) / 1000).stringField('ended_by', 'recovered').timestamp(start);
}

describe('alert scenarios', () => {
  it('a flapping link produces exactly one alert and one resolution', async () => {
    const r = await setup(local(8), [site('LC-001')], [
      { id: 'link-down', kind: 'link_down', clearAfterChecks: 1, renotifyMinutes: 0, params: { minOutageMinutes: 5, windowMinutes: 30, clearMinutes: 30 } },
    ]);
    const svc = await r.service();
    // 90 minutes: the link is down 8 minutes, up 4, down 8 ...; each outage is reported when it ends.
    for (let minute = 0; minute < 90; minute++) {
      r.now = local(8) + minute * MIN;
      const phase = minute % 12;
      if (minute < 60 && phase === 8) await r.write([outage('LC-001', r.now - 8 * MIN, r.now)]);
      await svc.runOnce();
    }
    // Then a stable hour.
    for (let minute = 90; minute < 150; minute += 5) {
      r.now = local(8) + minute * MIN;
      await svc.runOnce();
    }
    expect(r.kinds()).toEqual(['firing', 'resolved']);
  });

  it('twelve sites down in one commune produce one grouped message', async () => {
    const down = Array.from({ length: 12 }, (_, i) => site(`LC-1${String(i).padStart(2, '0')}`));
    const r = await setup(local(8), [...down, site('LC-200', 'Tả Van')], [silentRule({ renotifyMinutes: 20, group: { by: 'commune', minSites: 5, windowMinutes: 30 } })]);
    const svc = await r.service();
    for (const id of r.devices.values()) await r.registry.touchDevice(id, r.now);
    for (let minute = 5; minute <= 60; minute += 5) {
      r.now = local(8) + minute * MIN;
      // The site in the other commune keeps reporting.
      await r.registry.touchDevice(r.devices.get('LC-200')!, r.now);
      await svc.runOnce();
    }
    const messages = r.receiver.accepted();
    expect(messages.map((m) => m.kind)).toEqual(['group_firing']);
    const grouped = messages[0] as { sites: { code: string }[]; group: { by: string; value: string }; text: string };
    expect(grouped.sites.map((s) => s.code).sort()).toEqual(down.map((s) => s.code));
    expect(grouped.group).toMatchObject({ by: 'commune', value: 'Bản Xèo' });
    expect(grouped.text).toContain('likely one tower');
    expect(grouped.text).toContain('http://grafana.test:3000/d/songcheck-site?var-site=LC-100');

    // The tower comes back: one grouped resolution.
    r.now += 5 * MIN;
    for (const id of r.devices.values()) await r.registry.touchDevice(id, r.now);
    await svc.runOnce();
    expect(r.kinds()).toEqual(['group_firing', 'group_resolved']);
  });

  it('a restart mid-incident sends nothing twice and loses nothing', async () => {
    const r = await setup(local(8), [site('LC-001')], [silentRule()]);
    await r.registry.touchDevice(r.devices.get('LC-001')!, r.now);
    // The receiver is down when the alert fires.
    r.receiver.script.push(503, 503);
    const first = await r.service('process-a');
    r.now = local(8, 35);
    const a = await first.runOnce();
    expect(a.tick.enqueued).toBe(1);
    expect(a.dispatch).toMatchObject({ sent: 0, retried: 1 });
    // Process A dies without releasing its lease; B takes over once the lease has expired.
    const second = await r.service('process-b');
    r.now += 1 * MIN;
    expect((await second.runOnce()).tick.evaluated).toBe(false);
    r.now += 5 * MIN;
    const b = await second.runOnce();
    expect(b.tick).toMatchObject({ evaluated: true, enqueued: 0 });
    // The first retry met the second scripted 503; the next one is sent.
    r.now += 10 * MIN;
    await second.runOnce();
    expect(r.kinds()).toEqual(['firing']);
    // Another restart while still firing: nothing is repeated.
    const third = await r.service('process-c');
    r.now += 10 * MIN;
    await third.runOnce();
    expect(r.kinds()).toEqual(['firing']);
    // The site returns: the resolution is sent once.
    await r.registry.touchDevice(r.devices.get('LC-001')!, r.now);
    await third.runOnce();
    r.now += 5 * MIN;
    await (await r.service('process-c')).runOnce();
    expect(r.kinds()).toEqual(['firing', 'resolved']);
    expect(r.receiver.received.filter((x) => x.status === 503)).toHaveLength(2);
  });

  it('nothing fires outside school hours for a rule that is quiet then, and a condition persisting into school hours notifies when school starts', async () => {
    const r = await setup(local(16, 0), [site('LC-001')], [silentRule()]);
    // Last heard at 16:45; school ends at 17:00, so only 15 school minutes pass before the night.
    r.now = local(16, 45);
    await r.registry.touchDevice(r.devices.get('LC-001')!, r.now);
    const svc = await r.service();
    const sentAt: number[] = [];
    for (let t = local(16, 50); t <= local(7, 30, 25); t += 15 * MIN) {
      r.now = t;
      const before = r.receiver.accepted().length;
      await svc.runOnce();
      if (r.receiver.accepted().length > before) sentAt.push(t);
    }
    // 15 school minutes on Tuesday + 15 on Wednesday from 07:00: silent for 30 school minutes at 07:15.
    expect(sentAt).toEqual([local(7, 20, 25)]);
    expect(r.kinds()).toEqual(['firing']);
  });

  it('a latency problem that starts before school is announced when school starts', async () => {
    const r = await setup(local(6), [site('LC-001')], [
      { id: 'latency', kind: 'latency_loss', clearAfterChecks: 2, renotifyMinutes: 0, quietOutsideSchool: true, params: { forMinutes: 15, minSamples: 2 } },
    ]);
    const svc = await r.service();
    const sentAt: number[] = [];
    for (let t = local(6); t <= local(7, 30); t += 5 * MIN) {
      r.now = t;
      await r.write([new Point('latency').tag('site', 'LC-001').tag('method', 'tcp_connect').floatField('rtt_median_ms', 400).floatField('loss_pct', 0).timestamp(t - 1000)]);
      const before = r.receiver.accepted().length;
      await svc.runOnce();
      if (r.receiver.accepted().length > before) sentAt.push(t);
    }
    expect(sentAt).toEqual([local(7)]);
  });

  it('an acknowledged alert stays quiet until it resolves', async () => {
    const r = await setup(local(8), [site('LC-001'), site('LC-002')], [silentRule({ renotifyMinutes: 30 })]);
    for (const id of r.devices.values()) await r.registry.touchDevice(id, r.now);
    const svc = await r.service();
    r.now = local(8, 35);
    await svc.runOnce();
    expect(r.kinds()).toEqual(['firing', 'firing']);
    expect(await svc.store.acknowledge('site-silent', 'LC-001', 'on-call', r.now)).toBe(true);
    // Three hours of ticks: LC-002 (not acknowledged) is reminded every 30 minutes, LC-001 never.
    for (let i = 0; i < 36; i++) {
      r.now += 5 * MIN;
      await svc.runOnce();
    }
    const about = (code: string) => r.receiver.accepted().filter((m) => (m.sites as { code: string }[])[0]?.code === code).map((m) => m.kind);
    expect(about('LC-001')).toEqual(['firing']);
    expect(about('LC-002').filter((k) => k === 'reminder').length).toBeGreaterThanOrEqual(5);
    await r.registry.touchDevice(r.devices.get('LC-001')!, r.now);
    await svc.runOnce();
    expect(about('LC-001')).toEqual(['firing', 'resolved']);
  });

  it('degraded throughput fires on 3 of the last 5 tests under the profile floor and clears only at 1 of 5', async () => {
    const r = await setup(local(8), [site('LC-001')], [{ id: 'slow', kind: 'degraded_throughput', clearAfterChecks: 1, renotifyMinutes: 0, params: { lastN: 5, raiseCount: 3, clearCount: 1 } }]);
    const svc = await r.service();
    // The 4G profile's floor is 5 Mbit/s. Between the raise (3 under) and the clear (≤ 1 under) nothing changes.
    // Each test under the floor is followed by its confirmation (the agent's, within the hour): here as low.
    const speeds = [12, 3, 2, 4, 9, 8, 7, 11, 6];
    const after: string[][] = [];
    for (const [i, mbps] of speeds.entries()) {
      r.now = local(8) + (i + 1) * 10 * MIN;
      await r.write(mbps < 5 ? [download(i, mbps, r.now - 2000), confirmation(i, mbps, mbps, r.now - 1000)] : [download(i, mbps, r.now - 2000)]);
      await svc.runOnce();
      after.push(r.kinds());
    }
    expect(after[2]).toEqual([]);
    expect(after[3]).toEqual(['firing']);
    expect(after[6]).toEqual(['firing']);
    expect(after[7]).toEqual(['firing', 'resolved']);
  });

  it('degraded throughput counts only confirmed failures: bad tests whose confirmation passed raise nothing', async () => {
    const r = await setup(local(8), [site('LC-001')], [{ id: 'slow', kind: 'degraded_throughput', clearAfterChecks: 1, renotifyMinutes: 0, params: { lastN: 5, raiseCount: 3, clearCount: 1 } }]);
    const svc = await r.service();
    for (const [i, [mbps, confirmed]] of [[3, 9], [2, 8], [4, 4.5], [1, 12]].entries()) {
      r.now = local(8) + (i + 1) * 10 * MIN;
      await r.write([download(i, mbps!, r.now - 2000), confirmation(i, confirmed!, mbps!, r.now - 1000)]);
      await svc.runOnce();
    }
    // Four tests under the floor, one of them confirmed: one bad test each time, no alert.
    expect(r.kinds()).toEqual([]);
  });

  it('a device clock off by minutes raises a fleet alert that clears only once the offset is small', async () => {
    const r = await setup(local(8), [site('LC-001')], [{ id: 'clock', kind: 'fleet_clock_offset', clearAfterChecks: 1, renotifyMinutes: 0 }]);
    const svc = await r.service();
    const offsets = [5_000, -300_000, 60_000, 4_000];
    const after: string[][] = [];
    for (const [i, offset] of offsets.entries()) {
      r.now = local(8) + (i + 1) * 5 * MIN;
      await r.write([new Point('agent_health').tag('site', 'LC-001').floatField('clock_offset_ms', offset).floatField('queue_depth', 0).timestamp(r.now - 1000)]);
      await svc.runOnce();
      after.push(r.kinds());
    }
    expect(after).toEqual([[], ['firing'], ['firing'], ['firing', 'resolved']]);
  });

  it('a silenced commune sends nothing until the silence expires, then the alert still firing is announced', async () => {
    const r = await setup(local(8), [site('LC-001'), site('LC-002', 'Tả Van')], [silentRule()]);
    for (const id of r.devices.values()) await r.registry.touchDevice(id, r.now);
    const svc = await r.service();
    await svc.store.addSilence({ groupKey: 'commune:Bản Xèo', until: local(9, 30), createdBy: 'test', createdAt: r.now });
    const sentAt: [number, string][] = [];
    for (let t = local(8, 5); t <= local(10); t += 5 * MIN) {
      r.now = t;
      const before = r.receiver.accepted().length;
      await svc.runOnce();
      for (const m of r.receiver.accepted().slice(before)) sentAt.push([t, (m.sites as { code: string }[])[0]!.code]);
    }
    expect(sentAt).toEqual([[local(8, 30), 'LC-002'], [local(9, 30), 'LC-001']]);
  });

  it('the daily digest is sent once at its local time and lists what is firing', async () => {
    // Enrolled (and so last heard) at 16:00: silent for the last hour of school.
    const r = await setup(local(16), [site('LC-001')], [silentRule({ quietOutsideSchool: false })], '17:30');
    const svc = await r.service();
    for (let t = local(17); t <= local(18, 30); t += 15 * MIN) {
      r.now = t;
      await svc.runOnce();
    }
    expect(r.kinds()).toEqual(['firing', 'digest']);
    const digest = r.receiver.accepted()[1] as { text: string; at: number };
    expect(digest.at).toBe(local(17, 30));
    expect(digest.text).toContain('site-silent LC-001');
    expect(digest.text).toContain('firing=1');
  });
});
