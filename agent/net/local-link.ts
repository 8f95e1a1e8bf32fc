// The path to the router: the default gateway and the local link that leads to it (wired, Wi-Fi or a
// cellular modem, with its link rate and Wi-Fi signal where the OS tells them). Read from the kernel's own
// files on Linux and from PowerShell's numeric JSON on Windows: no localised text is parsed anywhere (no
// `netsh`, no `ipconfig`; `iw` prints fixed English keywords whatever the locale). A fact that cannot be
// read is left out, never guessed. docs/throughput.md "The school's own network".
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { parseProcNetRoute } from './default-route.ts';

export const LAN_MEDIA = ['wired', 'wifi', 'cellular', 'unknown'] as const;
export type LanMedium = (typeof LAN_MEDIA)[number];

export interface LocalLink {
  /** The default gateway (the school's router, or the operator's when the modem is in this computer). */
  gateway: string;
  iface?: string;
  medium: LanMedium;
  /** Wired: the negotiated speed; Wi-Fi: the current transmit PHY rate (Mbit/s). */
  linkMbps?: number;
  /** Wi-Fi: the current receive PHY rate where the OS gives it (Mbit/s). */
  rxLinkMbps?: number;
  wifiSignalDbm?: number;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** /proc/net/wireless: the signal level (dBm) of one interface ("wlan0: 0000   54.  -56.  -256 …"). */
export function parseProcNetWireless(text: string, iface: string): number | undefined {
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*([^:\s]+):\s+\S+\s+(-?[\d.]+)\s+(-?[\d.]+)/);
    if (m && m[1] === iface) {
      const level = Number(m[3]!.replace(/\.$/, ''));
      if (Number.isFinite(level) && level < 0 && level > -150) return level;
    }
  }
  return undefined;
}

/** `iw dev <if> link`: "tx bitrate: 65.0 MBit/s …" and "rx bitrate: …" (fixed keywords, not localised). */
export function parseIwLink(text: string): { txMbps?: number; rxMbps?: number; signalDbm?: number } {
  const num = (re: RegExp) => {
    const m = text.match(re);
    const x = m ? Number(m[1]) : NaN;
    return Number.isFinite(x) ? x : undefined;
  };
  const tx = num(/tx bitrate:\s*([\d.]+)\s*MBit\/s/);
  const rx = num(/rx bitrate:\s*([\d.]+)\s*MBit\/s/);
  const signal = num(/signal:\s*(-[\d.]+)\s*dBm/);
  return { ...(tx !== undefined ? { txMbps: tx } : {}), ...(rx !== undefined ? { rxMbps: rx } : {}), ...(signal !== undefined ? { signalDbm: signal } : {}) };
}

/** Interface names of cellular modems and USB tethering: then the "gateway" is the operator's, not the school's. */
const CELLULAR_NAME = /^(wwan|rmnet|ppp|usb|wwp|enx.*wwan)/;

function run(cmd: string, args: string[], timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 20, env: { ...process.env, LC_ALL: 'C' }, windowsHide: true }, (err, stdout) => resolve(err ? undefined : stdout));
  });
}

async function linuxLink(timeoutMs: number, root = ''): Promise<LocalLink | undefined> {
  const route = parseProcNetRoute(readText(`${root}/proc/net/route`) ?? '');
  if (!route) return undefined;
  const { iface, gateway } = route;
  const sys = `${root}/sys/class/net/${iface}`;
  const isWifi = fs.existsSync(`${sys}/wireless`) || fs.existsSync(`${sys}/phy80211`);
  const devtype = readText(`${sys}/uevent`)?.match(/^DEVTYPE=(\S+)/m)?.[1];
  const link: LocalLink = { gateway, iface, medium: isWifi ? 'wifi' : devtype === 'wwan' || CELLULAR_NAME.test(iface) ? 'cellular' : devtype === undefined || devtype === 'ethernet' ? 'wired' : 'unknown' };
  if (link.medium === 'wired') {
    // Virtual devices (veth, bridges) report -1 or nothing: left out.
    const speed = Number(readText(`${sys}/speed`)?.trim());
    if (Number.isFinite(speed) && speed > 0) link.linkMbps = speed;
  }
  if (link.medium === 'wifi') {
    const signal = parseProcNetWireless(readText(`${root}/proc/net/wireless`) ?? '', iface);
    if (signal !== undefined) link.wifiSignalDbm = signal;
    const iw = await run('iw', ['dev', iface, 'link'], timeoutMs);
    if (iw) {
      const p = parseIwLink(iw);
      if (p.txMbps !== undefined) link.linkMbps = p.txMbps;
      if (p.rxMbps !== undefined) link.rxLinkMbps = p.rxMbps;
      if (link.wifiSignalDbm === undefined && p.signalDbm !== undefined) link.wifiSignalDbm = p.signalDbm;
    }
  }
  return link;
}

// One PowerShell call, numbers only: the default route's next hop and interface, that adapter's NDIS physical
// medium (9 = native 802.11, 8 = wireless WAN, 0/14 = wired) and link speeds in bit/s, and the 802.11 signal
// from the NDIS WMI class where the driver offers it. Property names and enums do not depend on the locale.
const WINDOWS_SCRIPT = `
$ErrorActionPreference = 'SilentlyContinue'
$r = Get-NetRoute -DestinationPrefix '0.0.0.0/0' | Sort-Object { $_.RouteMetric + $_.InterfaceMetric } | Select-Object -First 1
if (-not $r) { '{}'; exit }
$a = Get-NetAdapter -InterfaceIndex $r.InterfaceIndex
$s = Get-CimInstance -Namespace root/wmi -ClassName MSNdis_80211_ReceivedSignalStrength | Where-Object { $_.Active -and $_.InstanceName -eq $a.InterfaceDescription } | Select-Object -First 1
[pscustomobject]@{ gateway = [string]$r.NextHop; iface = [string]$a.Name; medium = [int]$a.NdisPhysicalMedium; rx = [double]$a.ReceiveLinkSpeed; tx = [double]$a.TransmitLinkSpeed; signal = $s.Ndis80211ReceivedSignalStrength } | ConvertTo-Json -Compress
`;

export function parseWindowsLink(json: string): LocalLink | undefined {
  let o: { gateway?: unknown; iface?: unknown; medium?: unknown; rx?: unknown; tx?: unknown; signal?: unknown };
  try {
    o = JSON.parse(json) as typeof o;
  } catch {
    return undefined;
  }
  if (typeof o.gateway !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(o.gateway) || o.gateway === '0.0.0.0') return undefined;
  const medium: LanMedium = o.medium === 9 ? 'wifi' : o.medium === 8 ? 'cellular' : o.medium === 0 || o.medium === 14 ? 'wired' : 'unknown';
  const link: LocalLink = { gateway: o.gateway, medium, ...(typeof o.iface === 'string' && o.iface ? { iface: o.iface.slice(0, 100) } : {}) };
  const mbit = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? Math.round(x / 1e4) / 100 : undefined);
  const tx = mbit(o.tx);
  const rx = mbit(o.rx);
  if (tx !== undefined) link.linkMbps = tx;
  if (rx !== undefined && medium === 'wifi') link.rxLinkMbps = rx;
  if (typeof o.signal === 'number' && o.signal < 0 && o.signal > -150) link.wifiSignalDbm = o.signal;
  return link;
}

async function windowsLink(timeoutMs: number): Promise<LocalLink | undefined> {
  const out = await run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', WINDOWS_SCRIPT], timeoutMs);
  return out ? parseWindowsLink(out.trim()) : undefined;
}

/** The default gateway and the local link to it; undefined when there is no default route or the OS is not supported. */
export function readLocalLink(timeoutMs = 5_000): Promise<LocalLink | undefined> {
  if (process.platform === 'linux') return linuxLink(timeoutMs);
  if (process.platform === 'win32') return windowsLink(timeoutMs);
  return Promise.resolve(undefined);
}
