import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadAgentConfig, parseAgentConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'songcheck-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('agent config', () => {
  it('needs no file at all: every probe gets its default schedule', () => {
    const cfg = loadAgentConfig(undefined, join(dir, 'absent.yaml'));
    expect(Object.keys(cfg.probes).sort()).toEqual(['dns', 'gateway', 'http', 'icmp', 'tcp', 'throughput']);
    expect(cfg.probes.tcp!.schedule).toBe('0 */5 * * * *');
    expect(cfg.probes.tcp!.options).toMatchObject({ count: expect.any(Number) });
    expect(cfg.queue.maxMegabytes).toBe(50);
    expect(cfg.upload.backoffMaxSeconds).toBe(900);
  });

  it('merges a partial probe block over the defaults', () => {
    const cfg = parseAgentConfig('probes:\n  tcp:\n    targets: ["10.0.0.1:443"]\n    options: { count: 10 }\n');
    expect(cfg.probes.tcp).toMatchObject({ schedule: '0 */5 * * * *', targets: ['10.0.0.1:443'], options: { count: 10 } });
  });

  it('the commented sample file is valid', () => {
    const sample = readFileSync(new URL('./songcheck-agent.sample.yaml', import.meta.url), 'utf8');
    expect(() => parseAgentConfig(sample, 'sample')).not.toThrow();
  });

  it.each([
    ['probes:\n  tcp:\n    schedule: "every five minutes"\n', /probes\.tcp\.schedule: not a valid cron expression/],
    ['probes:\n  speedtest: {}\n', /probes\.speedtest: unknown probe 'speedtest'/],
    ['probes:\n  tcp:\n    options: { count: -1 }\n', /probes\.tcp\.options\.count/],
    ['queue:\n  maxMegabytes: 0\n', /queue\.maxMegabytes/],
    ['uplaod: {}\n', /Unrecognized key.*uplaod/],
    ['probes: [\n', /not valid YAML/],
  ])('rejects %j with a message naming the place', (text, message) => {
    expect(() => parseAgentConfig(text, 'agent.yaml')).toThrow(ConfigError);
    expect(() => parseAgentConfig(text, 'agent.yaml')).toThrow(message);
  });

  it('a config file that is named but missing is an error, not the defaults', () => {
    expect(() => loadAgentConfig(join(dir, 'missing.yaml'), join(dir, 'x'))).toThrow(/does not exist/);
  });

  it('reads the file in the data directory when no --config is given', () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'upload:\n  batchSize: 7\n');
    expect(loadAgentConfig(undefined, file).upload.batchSize).toBe(7);
  });
});
