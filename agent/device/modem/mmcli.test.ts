import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DeviceFactsFields } from '../../../protocol/results.ts';
import { accessGeneration, modemFacts, parseKeyValue, parseModemList, readModemFacts, type RunCommand } from './mmcli.ts';

const sample = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const kv = (name: string) => parseKeyValue(sample(name));
const none = new Map<string, string>();

/** Answers mmcli invocations from the samples; anything else fails like mmcli would. */
function fakeMmcli(files: Record<string, string>): RunCommand & { calls: string[][] } {
  const calls: string[][] = [];
  const run = async (_file: string, args: string[]) => {
    calls.push(args);
    const name = files[args.join(' ')];
    if (!name) throw Object.assign(new Error('error: couldn\'t find modem'), { code: 1 });
    return sample(name);
  };
  return Object.assign(run, { calls });
}

describe('mmcli key-value parsing', () => {
  it('reads keys, drops "--" values, and finds the modems in -L output (key-value and plain)', () => {
    const m = kv('modem-lte-viettel.txt');
    expect(m.get('modem.3gpp.operator-name')).toBe('Viettel');
    expect(m.get('modem.generic.current-modes')).toBe('allowed: 2g, 3g, 4g; preferred: 4g');
    expect(m.has('modem.3gpp.pco')).toBe(false);
    expect(parseModemList(sample('list-one-modem.txt'))).toEqual(['0']);
    expect(parseModemList(sample('list-plain.txt'))).toEqual(['3']);
    expect(parseModemList(sample('list-none.txt'))).toEqual([]);
  });

  it('groups access technologies into generations, the highest winning', () => {
    expect(accessGeneration(['lte'])).toBe('4g');
    expect(accessGeneration(['lte', '5gnr'])).toBe('5g');
    expect(accessGeneration(['hsdpa', 'hsupa'])).toBe('3g');
    expect(accessGeneration(['edge'])).toBe('2g');
    expect(accessGeneration(['unknown'])).toBeUndefined();
    expect(accessGeneration([])).toBeUndefined();
  });
});

describe('modem facts', () => {
  it('LTE modem with signal and location: operator, 4g, quality, RSSI/RSRP/RSRQ/SINR and cell id', () => {
    const facts = modemFacts(kv('modem-lte-viettel.txt'), kv('signal-lte.txt'), kv('location-3gpp.txt'));
    expect(facts).toEqual({
      modem_operator: 'Viettel',
      modem_access_tech: '4g',
      modem_signal_pct: 67,
      modem_rssi_dbm: -71,
      modem_rsrp_dbm: -100,
      modem_rsrq_db: -9,
      modem_sinr_db: 19,
      modem_cell_id: '01B4C01A',
    });
  });

  it('5G NSA: NR figures, RSSI from the LTE anchor', () => {
    expect(modemFacts(kv('modem-5g-nsa.txt'), kv('signal-5g-nsa.txt'), none)).toEqual({
      modem_operator: 'VINAPHONE',
      modem_access_tech: '5g',
      modem_signal_pct: 82,
      modem_rssi_dbm: -63,
      modem_rsrp_dbm: -88,
      modem_rsrq_db: -12,
      modem_sinr_db: 21.5,
    });
  });

  it('3G modem in the older array format: operator code when there is no name, no stale 0 % quality, UMTS RSSI', () => {
    expect(modemFacts(kv('modem-3g-old-format.txt'), kv('signal-umts.txt'), none)).toEqual({
      modem_operator: '45201',
      modem_access_tech: '3g',
      modem_rssi_dbm: -77,
    });
  });

  it('signal polling not set up: no signal figures, the rest still reported', () => {
    const facts = modemFacts(kv('modem-lte-viettel.txt'), kv('signal-not-set-up.txt'), none);
    expect(facts).toEqual({ modem_operator: 'Viettel', modem_access_tech: '4g', modem_signal_pct: 67 });
  });

  it('every combination passes the device_facts schema', () => {
    const base = { agent_version: '0.1.0', node_version: 'v20', hostname: 'h', os: 'o', os_version: '1', arch: 'arm64', cpu: 'c', cpu_cores: 4, mem_total_mb: 1, mem_free_mb: 1, system_uptime_s: 1 };
    for (const [m, s] of [['modem-lte-viettel.txt', 'signal-lte.txt'], ['modem-5g-nsa.txt', 'signal-5g-nsa.txt'], ['modem-3g-old-format.txt', 'signal-umts.txt']] as const) {
      expect(DeviceFactsFields.safeParse({ ...base, ...modemFacts(kv(m), kv(s), kv('location-3gpp.txt')) }).success).toBe(true);
    }
  });
});

describe('readModemFacts', () => {
  it('runs -L, then the first modem\'s status, signal and location', async () => {
    const run = fakeMmcli({
      '-L -K': 'list-one-modem.txt',
      '-m 0 -K': 'modem-lte-viettel.txt',
      '-m 0 --signal-get -K': 'signal-lte.txt',
      // --location-get refused (an unprivileged user): everything else still comes through
    });
    const facts = await readModemFacts(run);
    expect(facts).toMatchObject({ modem_operator: 'Viettel', modem_rsrp_dbm: -100 });
    expect(facts.modem_cell_id).toBeUndefined();
    expect(run.calls.map((c) => c.join(' '))).toContain('-m 0 --location-get -K');
  });

  it('is empty, without throwing, when mmcli is missing or there is no modem', async () => {
    expect(await readModemFacts(undefined, '/nonexistent/mmcli')).toEqual({});
    expect(await readModemFacts(fakeMmcli({ '-L -K': 'list-none.txt' }))).toEqual({});
    expect(await readModemFacts(fakeMmcli({}))).toEqual({});
  });
});
