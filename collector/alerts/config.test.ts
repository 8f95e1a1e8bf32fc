// The alerts file: the committed default is valid, and a bad file names every problem with its path.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlertsConfigError, loadAlertsConfig, parseAlertsConfig } from './config.ts';
import { ConfigError } from '../config-error.ts';
import { createInfluxWriter } from '../influx/writer.ts';
import { createLogger } from '../logger.ts';
import { Registry } from '../registry/registry.ts';
import { DEFAULT_ALERTS_FILE, startAlerts } from './start.ts';
import { strongToken } from '../../test/support/secrets.ts';

describe('alerts file', () => {
  it('the committed default file is valid and fills each rule kind\'s defaults', () => {
    const config = loadAlertsConfig(DEFAULT_ALERTS_FILE, {});
    expect(config.rules.map((r) => r.kind)).toContain('site_silent');
    expect(config.rules.find((r) => r.id === 'degraded-throughput')!.params).toMatchObject({ lastN: 5, raiseCount: 3, clearCount: 1, lookbackDays: 7 });
  });

  it('reports every problem at once with its path', async () => {
    const error = (() => {
      try {
        parseAlertsConfig({
          channels: [{ id: 'hook', type: 'webhook', url: 'ftp://x', secret: 'short' }, { id: 'tg', type: 'telegram', botToken: '${NO_SUCH_VAR}', chatId: 1 }],
          rules: [
            { id: 'a', kind: 'nope' },
            { id: 'b', kind: 'degraded_throughput', params: { lastN: 3, raiseCount: 4 } },
            { id: 'c', kind: 'site_silent', channels: ['mail'] },
          ],
        }, 'test.yaml', {});
      } catch (e) {
        return e as AlertsConfigError;
      }
      throw new Error('no error');
    })();
    expect(error).toBeInstanceOf(AlertsConfigError);
    expect(error.message).toContain('channels.1.botToken: environment variable NO_SUCH_VAR is not set');
    expect(error.problems).toEqual(expect.arrayContaining([
      'channels.0.url: must be an http:// or https:// URL',
      'channels.0.secret: is too short (5 characters; at least 32); generate one with `openssl rand -hex 32`',
    ]));
  });

  it('checks rule kinds, their params and channel references once the shape is valid', async () => {
    expect(() => parseAlertsConfig({ rules: [{ id: 'a', kind: 'nope' }, { id: 'b', kind: 'degraded_throughput', params: { lastN: 3, raiseCount: 4 } }, { id: 'c', kind: 'site_silent', channels: ['mail'] }] }, 'x', {}))
      .toThrow(/rules\.0\.kind: unknown kind "nope"[\s\S]*rules\.1\.params\.raiseCount: raiseCount must be at most lastN[\s\S]*rules\.2\.channels: no channel "mail"/);
  });

  it('reads secrets from the environment', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-alerts-cfg-')), 'alerts.yaml');
    fs.writeFileSync(file, 'channels:\n  - { id: hook, type: webhook, url: "http://127.0.0.1:1/h", secret: "${HOOK_SECRET}" }\n');
    const secret = strongToken();
    const config = loadAlertsConfig(file, { HOOK_SECRET: secret });
    expect(config.channels[0]).toMatchObject({ secret, lang: 'vi' });
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('a bad alerts file stops the collector start with a ConfigError naming SONGCHECK_ALERTS_FILE', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-alerts-start-'));
    const file = path.join(dir, 'alerts.yaml');
    fs.writeFileSync(file, 'rules:\n  - { id: x, kind: site_silent, params: { silentMinutes: 0 } }\n');
    const registry = await Registry.open(dir);
    const writer = createInfluxWriter({ url: 'http://127.0.0.1:9', database: 'unused', timeoutMs: 1000 });
    try {
      await expect(startAlerts({ file, dataDir: dir, registry, writer, logger: createLogger('silent') })).rejects.toThrow(ConfigError);
      await expect(startAlerts({ file, dataDir: dir, registry, writer, logger: createLogger('silent') })).rejects.toThrow(`SONGCHECK_ALERTS_FILE (${file}): rules.0.params.silentMinutes:`);
    } finally {
      await registry.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
