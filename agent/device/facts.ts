import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Systeminformation } from 'systeminformation';
import { Result, type DeviceFactsFields } from '../../protocol/results.ts';
import { readModemFacts } from './modem/mmcli.ts';
import { AGENT_VERSION } from '../version.ts';

/**
 * What the device and its link are: OS, CPU, memory, uptime, the default interface, on Wi-Fi the signal,
 * and with a ModemManager modem its operator, technology and signal. Collected at start and daily. A fact systeminformation cannot read is left out, never guessed.
 */
export async function collectDeviceFacts(now: () => number = Date.now): Promise<Result> {
  const measuredAt = now();
  const { default: si } = await import('systeminformation');
  const [os, cpu, mem, iface, modem] = await Promise.all([
    si.osInfo(),
    si.cpu(),
    si.mem(),
    si.networkInterfaces('default').then((i) => (Array.isArray(i) ? i[0] : i)).catch(() => undefined),
    // A cellular modem through ModemManager (Linux); {} elsewhere or without one.
    readModemFacts(),
  ]);
  const fields: DeviceFactsFields = {
    agent_version: AGENT_VERSION,
    node_version: process.version,
    hostname: clip(os.hostname),
    os: clip(os.distro || os.platform),
    os_version: clip(os.release),
    arch: clip(os.arch),
    cpu: clip(`${cpu.manufacturer} ${cpu.brand}`.trim()),
    cpu_cores: cpu.cores,
    mem_total_mb: round(mem.total / 2 ** 20),
    mem_free_mb: round(mem.available / 2 ** 20),
    system_uptime_s: Math.round(si.time().uptime),
  };
  if (iface) {
    fields.iface = clip(iface.iface);
    fields.iface_type = clip(iface.type || (iface.virtual ? 'virtual' : 'unknown'));
    if (iface.ip4) fields.ipv4 = iface.ip4;
    if (iface.ip6) fields.ipv6 = iface.ip6;
    if (iface.mac) fields.mac = iface.mac;
    if (iface.type === 'wireless') Object.assign(fields, await wifiFacts(iface.iface));
  }
  Object.assign(fields, modem);
  return { id: randomUUID(), probe: 'device_facts', target: 'self', measuredAt, code: 'ok', fields };
}

async function wifiFacts(ifaceName: string): Promise<Partial<DeviceFactsFields>> {
  const { default: si } = await import('systeminformation');
  const conns: Systeminformation.WifiConnectionData[] = await si.wifiConnections().catch(() => []);
  const conn = conns.find((c) => c.iface === ifaceName) ?? conns[0];
  if (!conn) return {};
  const out: Partial<DeviceFactsFields> = { wifi_ssid: clip(conn.ssid) };
  if (Number.isFinite(conn.signalLevel) && conn.signalLevel < 0) out.wifi_signal_dbm = conn.signalLevel;
  if (Number.isFinite(conn.quality) && conn.quality >= 0 && conn.quality <= 100) out.wifi_quality_pct = conn.quality;
  return out;
}

const clip = (s: string | undefined) => (s ?? '').slice(0, 200);
const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Runs `songcheck-agent facts` in a short-lived child and returns its result. systeminformation stays out of
 * the long-running agent (about 5 MB resident there, for a daily reading), and a command of the OS that
 * hangs cannot stall the agent: the child is killed at the timeout.
 */
export function collectDeviceFactsInChild(timeoutMs: number, script = process.argv[1]!): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...process.execArgv, script, 'facts'], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) return reject(new Error(`device facts: ${err.message.split('\n')[0]}`));
      try {
        resolve(Result.parse(JSON.parse(stdout)));
      } catch (parseErr) {
        reject(new Error(`device facts: unreadable output (${(parseErr as Error).message.split('\n')[0]})`));
      }
    });
  });
}
