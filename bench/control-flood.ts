// Issue 14, case 8: what one enrolled device flooding its control-channel WebSocket does to everyone else.
// The device sends 60 000 distinct `config_result` messages as fast as its socket takes them; meanwhile a
// second client times `GET /api/v1/ping` back to back (the agents' HTTP timing target, answered by the same
// collector process). Two collectors in the same run: the message budget effectively off (the largest
// values the settings accept) and at its defaults. Run alone: BENCH_ONLY=control-flood npm run bench.
import WebSocket from 'ws';
import { CONTROL_PATH, CONTROL_PROTOCOL_VERSION } from '../protocol/control.ts';
import { Registry } from '../collector/registry/registry.ts';
import { startBenchStack } from './harness.ts';

export interface FloodRun {
  label: string;
  /** Messages the flooding client handed to its socket before the collector closed it (or all of them). */
  sent: number;
  /** How the flooding connection ended: its close code, or 0 while still open at the end of the window. */
  closeCode: number;
  /** config_result writes the store saw: the last version it recorded (each message carries the next one). */
  stored: number;
  pings: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ControlFloodResult {
  messages: number;
  windowS: number;
  runs: FloodRun[];
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (x: number) => Math.round(x * 10) / 10;

async function floodOnce(label: string, collectorEnv: NodeJS.ProcessEnv, messages: number, windowMs: number): Promise<FloodRun> {
  const stack = await startBenchStack(['bench_control_flood'], collectorEnv);
  try {
    const registry = await Registry.open(stack.env.SONGCHECK_DATA_DIR!);
    await registry.addSite({ code: 'FLOOD-1', name: 'Flood bench' });
    const { deviceId, token } = await registry.enroll((await registry.createEnrollmentCode('FLOOD-1')).code);
    await registry.close();

    const ws = new WebSocket(`${stack.collectorUrl.replace('http', 'ws')}${CONTROL_PATH}`, { headers: { authorization: `Bearer ${token}` } });
    ws.on('error', () => {});
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('unexpected-response', () => reject(new Error('control upgrade refused')))));
    let closeCode = 0;
    ws.once('close', (code) => (closeCode = code));
    ws.send(JSON.stringify({ type: 'hello', v: CONTROL_PROTOCOL_VERSION, agentVersion: '0.0.0-bench', configVersion: 0 }));

    // Pings back to back for the whole window, from before the flood starts.
    const latencies: number[] = [];
    let pinging = true;
    const pinger = (async () => {
      for (let i = 0; i < 1_000_000 && pinging; i++) {
        const t0 = performance.now();
        await fetch(`${stack.collectorUrl}/api/v1/ping`).then((r) => r.arrayBuffer());
        latencies.push(performance.now() - t0);
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    let sent = 0;
    for (let i = 1; i <= messages && ws.readyState === ws.OPEN; i++) {
      ws.send(JSON.stringify({ type: 'config_result', version: i, status: 'rejected', reason: 'flood' }));
      sent = i;
      if (i % 1_000 === 0) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, windowMs));
    pinging = false;
    await pinger;
    const endCode = closeCode;
    ws.terminate();

    const status = await fetch(`${stack.collectorUrl}/api/v1/admin/agent-configs/status`, { headers: { authorization: `Bearer ${stack.env.SONGCHECK_ADMIN_TOKEN}` } });
    const body = (await status.json()) as { devices: { deviceId: string; reportedVersion?: number }[] };
    const stored = body.devices.find((d) => d.deviceId === deviceId)?.reportedVersion ?? 0;
    const sorted = [...latencies].sort((a, b) => a - b);
    return { label, sent, closeCode: endCode, stored, pings: sorted.length, p50Ms: round(pct(sorted, 50)), p99Ms: round(pct(sorted, 99)), maxMs: round(sorted.at(-1) ?? NaN) };
  } finally {
    await stack.stop();
  }
}

export async function benchControlFlood(): Promise<ControlFloodResult> {
  const messages = Number(process.env.BENCH_CONTROL_FLOOD_MESSAGES ?? 60_000);
  const windowS = Number(process.env.BENCH_CONTROL_FLOOD_WINDOW_S ?? 6);
  const runs = [
    await floodOnce('budget off (10 000/s, burst 100 000)', { SONGCHECK_CONTROL_MESSAGES_PER_S: '10000', SONGCHECK_CONTROL_MESSAGE_BURST: '100000' }, messages, windowS * 1000),
    await floodOnce('budget at its defaults (5/s, burst 50)', {}, messages, windowS * 1000),
  ];
  return { messages, windowS, runs };
}

export function controlFloodReport(r: ControlFloodResult): string {
  const [off, on] = r.runs as [FloodRun, FloodRun];
  return [
    '## Control channel: one device flooding its WebSocket (issue 14, case 8)',
    '',
    `One enrolled device sends ${r.messages} distinct \`config_result\` messages as fast as its socket takes them; a second client times \`GET /api/v1/ping\` back to back on the same collector process from 0.2 s before the flood until ${r.windowS} s after the last message was handed over. One collector process with a real InfluxDB and SQLite; both runs in the same bench run.`,
    '',
    '| collector | messages sent before close | close code | config_result writes | pings | ping p50 / p99 / max ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.runs.map((x) => `| ${x.label} | ${x.sent} | ${x.closeCode || 'open'} | ${x.stored} | ${x.pings} | ${x.p50Ms} / **${x.p99Ms}** / ${x.maxMs} |`),
    '',
    `**Ping p99 with the budget / without: ${(on.p99Ms / off.p99Ms).toFixed(2)}; max ${(on.maxMs / off.maxMs).toFixed(2)}.**`,
  ].join('\n');
}
