// Fault test in the network lab: a real outage. The agent runs in the client namespace, the collector in the
// server namespace (writing to the test's real InfluxDB through a relay), and the veth link between them is
// set down for two minutes, then up. The outage must be recorded with its start and end within one check
// interval of the link going down and up, delivered afterwards, and the uptime slots must count the failed checks.
import { describe, expect, it } from 'vitest';
import { influxQuery } from './support/influx-query.ts';
import { eventually } from './support/processes.ts';
import { useAgentLab } from './lab/lab-agent.ts';
import { LAB_PORT } from './lab/lab-stack.ts';

const CHECK_S = 5;
const DOWN_MS = 120_000;
const { unavailable, influxUrl, db, lab } = useAgentLab('outagelab');

const q = (sql: string) => influxQuery(influxUrl, db, sql);

describe.skipIf(!!unavailable)('a real outage in the lab: link set down for two minutes, then up', () => {
  it('the outage is recorded with the right start and end (within one check interval) and delivered afterwards; the slots show the failed checks', async () => {
    const s = lab().stack;
    const collector = `${s.lab.serverIp}:${LAB_PORT}`;
    const agent = lab().run(
      `upload: { intervalSeconds: 2, backoffInitialSeconds: 1, backoffMaxSeconds: 5, timeoutSeconds: 5 }
health: { schedule: "*/30 * * * * *" }
probes: { tcp: { enabled: false }, http: { enabled: false }, dns: { enabled: false }, icmp: { enabled: false }, throughput: { enabled: false } }
# The lab has one other host: the collector is also the "outside" target; names come from /etc/hosts.
connectivity: { intervalSeconds: ${CHECK_S}, timeoutSeconds: 1, outsideTargets: ["${collector}"], dnsName: localhost }
log: { level: debug }
`,
    );
    const checks = (state: string) => agent.lines.filter((l) => l.includes('"connectivity check"') && l.includes(`"state":"${state}"`)).length;
    await eventually(() => (checks('up') >= 3 ? true : undefined), 60_000, 'three good checks before the outage');

    // Cut and restore at random phases of the check cycle (the wait above ends just after a check), so the
    // errors below sample the whole interval. The cut takes two `ip` commands; errors count from its start.
    const randomPhase = () => new Promise((r) => setTimeout(r, Math.random() * CHECK_S * 1000));
    await randomPhase();
    const downAt = Date.now();
    await s.lab.setLink(false);
    await new Promise((r) => setTimeout(r, DOWN_MS));
    await randomPhase();
    const upAt = Date.now();
    await s.lab.setLink(true);

    const [outage] = await eventually(async () => {
      const rows = await q(`SELECT * FROM outage WHERE site = 'LAB-001'`);
      return rows.length > 0 ? rows : undefined;
    }, 90_000, 'the outage to be delivered after the link came back');
    expect(agent.proc.exitCode).toBeNull();
    await agent.stop();
    // The stop queued the partial slot; an agent that only drains delivers it.
    const drain = lab().run(
      `upload: { intervalSeconds: 1, backoffInitialSeconds: 0.5, backoffMaxSeconds: 2 }
health: { schedule: "0 0 3 1 1 *" }
probes: { tcp: { enabled: false }, http: { enabled: false }, dns: { enabled: false }, icmp: { enabled: false }, throughput: { enabled: false } }
connectivity: { enabled: false }
log: { level: debug }
`,
    );
    // Every slot the outage touched: the outage can straddle a slot boundary, and the slots arrive one by one
    // (the running agent's finished slot, then the drain's partial one), so wait until they account for the
    // outage's failed checks (if they never do, the wait fails after 60 s), and the stop event is in.
    const slots = await eventually(async () => {
      const rows = await q(`SELECT * FROM uptime WHERE site = 'LAB-001'`);
      const stops = await q(`SELECT * FROM agent_event WHERE site = 'LAB-001' AND event = 'stop'`);
      const linkDown = rows.reduce((n, r) => n + Number(r.checks_link_down), 0);
      return rows.length > 0 && stops.length > 0 && linkDown >= Number(outage!.checks_failed) ? rows : undefined;
    }, 60_000, 'the uptime slots to account for the outage, and the stop event');
    await drain.stop();

    const startErrS = (outage!.time - downAt) / 1000;
    const endErrS = (Number(outage!.end_at) - upAt) / 1000;
    const linkDown = slots.reduce((n, r) => n + Number(r.checks_link_down), 0);
    const up = slots.reduce((n, r) => n + Number(r.checks_up), 0);
    console.log(
      `[outage-lab] link down ${DOWN_MS / 1000} s, checks every ${CHECK_S} s: outage ${String(outage!.kind)} start error ${startErrS.toFixed(1)} s, ` +
        `end error ${endErrS.toFixed(1)} s, checks_failed=${String(outage!.checks_failed)}; slots=${slots.length} checks_link_down=${linkDown} checks_up=${up}`,
    );
    expect(outage).toMatchObject({ kind: 'link_down', ended_by: 'recovered', method: 'connectivity_check', target: 'link' });
    // Within one check interval: a check that started just before the cut can still fail on it (the 1 s check
    // timeout on the early side); the late side allows the cut's own duration and timer lateness on a loaded machine.
    const LATE_S = 0.5;
    expect(startErrS).toBeGreaterThanOrEqual(-1);
    expect(startErrS).toBeLessThanOrEqual(CHECK_S + LATE_S);
    expect(endErrS).toBeGreaterThanOrEqual(-1);
    expect(endErrS).toBeLessThanOrEqual(CHECK_S + LATE_S);
    const expectedFailed = DOWN_MS / 1000 / CHECK_S;
    expect(Number(outage!.checks_failed)).toBeGreaterThanOrEqual(expectedFailed - 2);
    expect(Number(outage!.checks_failed)).toBeLessThanOrEqual(expectedFailed + 3);
    expect(linkDown).toBe(Number(outage!.checks_failed));
    expect(up).toBeGreaterThanOrEqual(3);
  }, 420_000);
});
