// The confirmation test in the network lab, end to end: the real agent (`run`, its school-hours plan drawing one
// test in the next minute) in the client namespace, the real collector in the server namespace storing into the
// test's InfluxDB. The link is shaped to 2 Mbit/s, under the 5 Mbit/s floor: the scheduled download reads low
// and the agent runs one confirmation test ~30 s later (the lab's `confirm` delay; 10–50 min in production).
//  - the line recovers before the confirmation (the link reshaped to 20 Mbit/s as soon as the first result is
//    stored): the confirmation reads good and the site is NOT judged degraded;
//  - the line stays at 2 Mbit/s: the confirmation agrees and the site IS judged degraded,
// by the collector's degraded-throughput rule and by Grafana's rule query alike (one definition:
// collector/alerts/rules/confirmed-failure.ts). The collector's rule runs with lastN 1 / raiseCount 1 so one
// confirmed failure is enough to see the judgement; the defaults want three.
// Congestion control: the judgement needs only a rate far under (2) or far over (20) the floor, which BBR (this
// machine's default, inherited by the lab's namespaces) and CUBIC both give on a tbf link with no competing
// traffic, so the lab keeps the default.
import { describe, expect, it } from 'vitest';
import { degradedThroughput } from '../collector/alerts/rules/degraded-throughput.ts';
import type { RuleContext } from '../collector/alerts/types.ts';
import { createInfluxWriter } from '../collector/influx/writer.ts';
import { ALERT_RULES } from '../dashboards/src/alerts.ts';
import { influxQuery, type InfluxRow } from './support/influx-query.ts';
import { eventually } from './support/processes.ts';
import { useAgentLab } from './lab/lab-agent.ts';
import { LAB_PROBE_DEFAULTS, type LabStack } from './lab/lab-stack.ts';

const SITE = 'LAB-001';
const FLOOR = 5;
const { unavailable, influxUrl, db, lab } = useAgentLab('confirmlab');

/** HH:MM in `timeZone`, `plusMinutes` from now. */
function hhmm(timeZone: string, plusMinutes = 0): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(Date.now() + plusMinutes * 60_000);
}

/** An agent whose plan draws one download test in the current minute, confirmed 24–30 s after a low one. */
function agentConfig(): string {
  // The plan's day starts at local midnight: pick a zone whose clock is not about to cross it.
  const timeZone = ['UTC', 'Asia/Ho_Chi_Minh'].find((z) => hhmm(z) < '23:55' && hhmm(z) > '00:05')!;
  const plan = `schedule: { testsPerDay: 1, start: "${hhmm(timeZone)}", end: "${hhmm(timeZone, 1)}", weekdays: [0, 1, 2, 3, 4, 5, 6], timeZone: "${timeZone}" }`;
  return `upload: { intervalSeconds: 1, backoffInitialSeconds: 0.5, backoffMaxSeconds: 2 }
health: { schedule: "0 0 3 1 1 *" }
connectivity: { enabled: false }
probes:
  tcp: { enabled: false }
  http: { enabled: false }
  dns: { enabled: false }
  icmp: { enabled: false }
  gateway: { enabled: false }
  throughput:
    schedule: "*/2 * * * * *"
    splaySeconds: 0
    timeoutSeconds: 120
    options: { ${LAB_PROBE_DEFAULTS}, directions: [download], maxDurationSeconds: 8, boost: { enabled: false }, ${plan}, confirm: { belowMbps: ${FLOOR}, minDelayMinutes: 0.4, maxDelayMinutes: 0.5 } }
log: { level: debug }
`;
}

const downloadsSince = (t: number) =>
  influxQuery(influxUrl, db, `SELECT "mbps", "result_id", "confirmation_of", "confirmation_of_mbps", "left_out" FROM "throughput" WHERE "site" = '${SITE}' AND "direction" = 'download' AND "code" = 'ok' AND time >= ${t}ms`);

/** The collector's rule (one confirmed failure is enough here) and Grafana's rule query, over what is stored. */
async function judged(): Promise<{ raise: boolean; value: number | undefined; grafanaConfirmedFailures: number }> {
  const writer = createInfluxWriter({ url: influxUrl, database: db, timeoutMs: 10_000 });
  const ctx = { now: Date.now(), sites: [], devices: [], query: (q: string) => writer.query(q), floorFor: () => FLOOR } as unknown as RuleContext;
  const params = degradedThroughput.params.parse({ lastN: 1, raiseCount: 1, clearCount: 0 });
  const o = (await degradedThroughput.evaluate(params, ctx)).find((x) => x.siteCode === SITE);
  const rule = ALERT_RULES.find((r) => r.rule === 'degraded_throughput')!;
  const g = (await influxQuery(influxUrl, db, rule.query)).find((r) => r.tags.site === SITE);
  return { raise: o?.raise ?? false, value: o?.value, grafanaConfirmedFailures: Number(g?.confirmed_failures ?? 0) };
}

/** One scheduled test and its confirmation; `between` runs once the first result is stored. */
async function testAndConfirmation(s: LabStack, between: () => Promise<void>): Promise<{ first: InfluxRow; confirmation: InfluxRow; lines: string[] }> {
  const since = Date.now() - 1000;
  const agent = lab().run(agentConfig());
  try {
    const first = await eventually(async () => (await downloadsSince(since)).find((r) => r.confirmation_of === null), 150_000, 'the scheduled download to be stored');
    await between();
    const confirmation = await eventually(async () => (await downloadsSince(since)).find((r) => r.confirmation_of !== null), 120_000, 'its confirmation to be stored');
    console.log(`[confirmation-lab] first ${Number(first.mbps).toFixed(2)} Mbit/s, confirmation ${Number(confirmation.mbps).toFixed(2)} Mbit/s ${((Number(confirmation.time) - Number(first.time)) / 1000).toFixed(0)} s later`);
    return { first, confirmation, lines: agent.lines };
  } finally {
    await agent.stop();
  }
}

describe.skipIf(!!unavailable)('confirmation test (network lab): one bad test is confirmed before the site is judged degraded', () => {
  it('a low test whose confirmation reads good (the line recovered) leaves the site not degraded', async () => {
    const s = lab().stack;
    await s.lab.shape({ downMbit: 2, upMbit: 2 });
    const { first, confirmation, lines } = await testAndConfirmation(s, () => s.lab.shape({ downMbit: 20, upMbit: 20 }));
    const context = `${JSON.stringify({ first, confirmation })}\n${lines.filter((l) => /throughput|confirm/i.test(l)).slice(-10).join('\n')}`;
    expect(Number(first.mbps), context).toBeLessThan(FLOOR);
    expect(confirmation.confirmation_of, context).toBe(first.result_id);
    expect(confirmation.confirmation_of_mbps, context).toBe(first.mbps);
    expect(Number(confirmation.mbps), context).toBeGreaterThan(10);
    expect(confirmation.left_out, context).toBe(false);
    // Exactly one confirmation: a good one asks for nothing more (and a confirmation is never confirmed).
    expect((await downloadsSince(Number(first.time))).length, context).toBe(2);
    expect(await judged()).toEqual({ raise: false, value: 0, grafanaConfirmedFailures: 0 });
  }, 300_000);

  it('a low test whose confirmation agrees (the line stayed slow) makes the site degraded', async () => {
    const s = lab().stack;
    await s.lab.shape({ downMbit: 2, upMbit: 2 });
    const { first, confirmation, lines } = await testAndConfirmation(s, async () => {});
    const context = `${JSON.stringify({ first, confirmation })}\n${lines.filter((l) => /throughput|confirm/i.test(l)).slice(-10).join('\n')}`;
    expect(Number(first.mbps), context).toBeLessThan(FLOOR);
    expect(confirmation.confirmation_of, context).toBe(first.result_id);
    expect(Number(confirmation.mbps), context).toBeLessThan(FLOOR);
    expect(confirmation.left_out, context).toBe(false);
    // The collector's rule raises; Grafana's query counts this pair as one confirmed failure (the pair before,
    // whose confirmation read good, counts none).
    expect(await judged()).toEqual({ raise: true, value: 1, grafanaConfirmedFailures: 1 });
  }, 300_000);
});
