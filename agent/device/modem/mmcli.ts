// Cellular context from ModemManager's command line (`mmcli`), on Linux machines whose link is a USB or
// built-in modem (a Raspberry Pi with a 4G dongle). Everything is optional: without mmcli, without a modem,
// or without the right to read it, the result is {} and nothing is logged.
//
// mmcli's key-value output (`-K`, `--output-keyvalue`) is stable and meant for scripts: one `key : value`
// per line, `--` for "no value", arrays as `key.length` plus `key.value[1]`, `key.value[2]` ...
// (ModemManager cli/mmcli-output.c). It is not localised.
import { execFile } from 'node:child_process';
import type { DeviceFactsFields } from '../../../protocol/results.ts';

export type ModemFacts = Pick<
  DeviceFactsFields,
  'modem_operator' | 'modem_access_tech' | 'modem_signal_pct' | 'modem_rssi_dbm' | 'modem_rsrp_dbm' | 'modem_rsrq_db' | 'modem_sinr_db' | 'modem_cell_id'
>;

/** `key : value` lines; values of `--` (ModemManager's "none") are left out. */
export function parseKeyValue(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key && value && value !== '--') out.set(key, value);
  }
  return out;
}

/** Every `key.value[i]`, or the single `key` / `key.value` of older mmcli versions. */
export function arrayValues(kv: Map<string, string>, key: string): string[] {
  const values: string[] = [];
  for (let i = 1; i <= 64 && kv.has(`${key}.value[${i}]`); i++) values.push(kv.get(`${key}.value[${i}]`)!);
  if (values.length > 0) return values;
  const single = kv.get(`${key}.value`) ?? kv.get(key);
  return single ? single.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

/** Modem indices from `mmcli -L -K` (`modem-list.value[1] : /org/freedesktop/ModemManager1/Modem/0`) or plain `mmcli -L`. */
export function parseModemList(text: string): string[] {
  return [...text.matchAll(/\/org\/freedesktop\/ModemManager1\/Modem\/(\d+)/g)].map((m) => m[1]!);
}

// ModemManager's MMModemAccessTechnology nicknames, grouped into the generations people speak of.
const GENERATION: Record<string, string> = {
  gsm: '2g', 'gsm-compact': '2g', gprs: '2g', edge: '2g', '1xrtt': '2g',
  umts: '3g', hsdpa: '3g', hsupa: '3g', hspa: '3g', 'hspa-plus': '3g', evdo0: '3g', evdoa: '3g', evdob: '3g',
  lte: '4g', 'lte-cat-m': '4g', 'lte-nb-iot': '4g',
  '5gnr': '5g',
};
const RANK = ['2g', '3g', '4g', '5g'];

/** The highest generation among the current access technologies (LTE + 5G NR, non-standalone, is 5g). */
export function accessGeneration(techs: string[]): string | undefined {
  let best: string | undefined;
  for (const t of techs) {
    const g = GENERATION[t.toLowerCase()];
    if (g && (best === undefined || RANK.indexOf(g) > RANK.indexOf(best))) best = g;
  }
  return best ?? (techs[0] && techs[0] !== 'unknown' ? techs[0].slice(0, 20) : undefined);
}

function num(kv: Map<string, string>, key: string, min: number, max: number): number | undefined {
  const raw = kv.get(key);
  if (raw === undefined) return undefined;
  const n = Number.parseFloat(raw);
  return Number.isFinite(n) && n >= min && n <= max ? n : undefined;
}

/**
 * Facts from `mmcli -m N -K` (modem), `mmcli -m N --signal-get -K` (signal) and `mmcli -m N --location-get -K`
 * (location); any of the three may be empty. Signal figures come from the block of the technology in use:
 * 5G NR when the modem is on 5G and reports it, else LTE, else UMTS, else GSM. RSSI falls back to LTE's for
 * a 5G NSA link (NR has no RSSI in ModemManager).
 */
export function modemFacts(modem: Map<string, string>, signal: Map<string, string>, location: Map<string, string>): ModemFacts {
  const out: ModemFacts = {};
  const operator = modem.get('modem.3gpp.operator-name') ?? modem.get('modem.3gpp.operator-code');
  if (operator) out.modem_operator = operator.slice(0, 200);
  const gen = accessGeneration(arrayValues(modem, 'modem.generic.access-technologies'));
  if (gen) out.modem_access_tech = gen;
  const quality = num(modem, 'modem.generic.signal-quality.value', 0, 100);
  // mmcli reports 0 with `recent: no` when it has no reading: that is not a measurement.
  if (quality !== undefined && modem.get('modem.generic.signal-quality.recent') !== 'no') out.modem_signal_pct = quality;

  const block = ['5g', 'nr5g', 'lte', 'umts', 'gsm'].find((b) => [...signal.keys()].some((k) => k.startsWith(`modem.signal.${b}.`) && !k.endsWith('.error-rate')));
  if (block) {
    const at = (field: string) => `modem.signal.${block}.${field}`;
    const rssi = num(signal, at('rssi'), -150, 0) ?? num(signal, 'modem.signal.lte.rssi', -150, 0);
    const rsrp = num(signal, at('rsrp'), -160, 0);
    const rsrq = num(signal, at('rsrq'), -40, 20);
    const sinr = num(signal, at('snr'), -30, 50) ?? num(signal, at('sinr'), -30, 50);
    if (rssi !== undefined) out.modem_rssi_dbm = rssi;
    if (rsrp !== undefined) out.modem_rsrp_dbm = rsrp;
    if (rsrq !== undefined) out.modem_rsrq_db = rsrq;
    if (sinr !== undefined) out.modem_sinr_db = sinr;
  }
  const cid = location.get('modem.location.3gpp.cid');
  if (cid && /^[0-9A-Fa-f]{1,16}$/.test(cid)) out.modem_cell_id = cid.toUpperCase();
  return out;
}

export type RunCommand = (file: string, args: string[]) => Promise<string>;

const runMmcli: RunCommand = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 5_000, maxBuffer: 1 << 20, env: { ...process.env, LC_ALL: 'C', LANG: 'C' } }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });

/**
 * The first modem's facts, or {} when mmcli is missing (ENOENT), ModemManager is not running, there is no
 * modem, or a command fails. Each piece is read independently: no signal rights still gives the operator.
 */
export async function readModemFacts(run: RunCommand = runMmcli, mmcli = 'mmcli'): Promise<ModemFacts> {
  if (process.platform !== 'linux' && run === runMmcli) return {};
  const quiet = (args: string[]) => run(mmcli, args).then(parseKeyValue, () => new Map<string, string>());
  let list: string;
  try {
    list = await run(mmcli, ['-L', '-K']);
  } catch {
    return {};
  }
  const index = parseModemList(list)[0];
  if (index === undefined) return {};
  const [modem, signal, location] = await Promise.all([
    quiet(['-m', index, '-K']),
    quiet(['-m', index, '--signal-get', '-K']),
    quiet(['-m', index, '--location-get', '-K']),
  ]);
  return modemFacts(modem, signal, location);
}
