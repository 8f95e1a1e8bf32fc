// Alert evaluation for a province: one engine tick over 2 000 sites with the default rules, against the
// same rules' InfluxQL queries and evaluation alone (no state machine, no SQLite), measured in the same run.
// The ratio is the engine's own overhead: state per site and rule, outbox, lease.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Point } from '@influxdata/influxdb-client';
import { loadAlertsConfig } from '../collector/alerts/config.ts';
import { DEFAULT_ALERTS_FILE } from '../collector/alerts/start.ts';
import { RULE_KINDS } from '../collector/alerts/rules/index.ts';
import { AlertService } from '../collector/alerts/service.ts';
import type { RuleContext } from '../collector/alerts/types.ts';
import { createInfluxWriter } from '../collector/influx/writer.ts';
import { Registry } from '../collector/registry/registry.ts';
import { openCollectorStore } from '../collector/database.ts';
import { startInfluxd } from '../scripts/influxd-server.ts';
import { median } from './harness.ts';

export interface AlertsBench {
  sites: number;
  rules: number;
  referenceMs: number;
  tickMs: number;
  ratio: number;
  firing: number;
  outboxRows: number;
}

export async function benchAlerts(sites = 2000, runs = 5): Promise<AlertsBench> {
  const influx = await startInfluxd();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-bench-alerts-'));
  try {
    const writer = createInfluxWriter({ url: influx.url, database: 'bench_alerts', timeoutMs: 60_000 });
    await writer.ensureDatabase();
    // Tuesday 24 Nov 2026, 10:00 local: school time.
    const now = Date.UTC(2026, 10, 24, 3, 0);
    const registry = Registry.open(dir, { now: () => now - 3600_000 });
    const points: Point[] = [];
    for (let i = 0; i < sites; i++) {
      const code = `LC-${String(i).padStart(4, '0')}`;
      registry.addSite({ code, name: `Site ${i}`, commune: `Commune ${i % 100}`, operator: ['viettel', 'vnpt', 'mobifone'][i % 3], linkType: '4g' });
      const { code: enrol } = registry.createEnrollmentCode(code);
      const { deviceId } = registry.enroll(enrol);
      // One site in ten silent for an hour; the others heard a minute ago.
      registry.touchDevice(deviceId, i % 10 === 0 ? now - 3600_000 : now - 60_000);
      for (let k = 0; k < 5; k++) {
        points.push(new Point('throughput').tag('site', code).tag('direction', 'download').tag('code', 'ok').floatField('mbps', i % 7 === 0 ? 2 : 20).timestamp(now - (k + 1) * 3600_000));
        points.push(new Point('latency').tag('site', code).tag('method', 'tcp_connect').floatField('rtt_median_ms', i % 5 === 0 ? 200 : 40).floatField('loss_pct', 0).timestamp(now - (k + 1) * 120_000));
      }
      points.push(new Point('agent_health').tag('site', code).floatField('clock_offset_ms', 0).floatField('oldest_unsent_age_s', 10).booleanField('behind_recommended', false).timestamp(now - 300_000));
    }
    for (let i = 0; i < points.length; i += 5000) await writer.write(points.slice(i, i + 5000));

    const config = loadAlertsConfig(DEFAULT_ALERTS_FILE, {});
    const rules = config.rules.filter((r) => r.enabled);
    const ctxBase = { sites: registry.listSites(), devices: registry.listDevices(), query: (q: string) => writer.query(q) };
    const school = { timeZone: 'Asia/Ho_Chi_Minh', isSchoolTime: () => true };
    const service = new AlertService({ config, store: openCollectorStore(dir), registry, query: (q) => writer.query(q), clock: () => now, school, floorFor: () => 5 });
    const reference: number[] = [];
    const ticks: number[] = [];
    for (let run = 0; run < runs; run++) {
      let t = performance.now();
      const ctx: RuleContext = { ...ctxBase, now, school, floorFor: () => 5 };
      for (const rule of rules) await RULE_KINDS[rule.kind]!.evaluate(rule.params, ctx);
      reference.push(performance.now() - t);
      t = performance.now();
      await service.engine.tick();
      ticks.push(performance.now() - t);
    }
    const firing = service.store.states().filter((s) => s.state === 'firing').length;
    const outboxRows = service.store.outbox({ limit: 100_000 }).length;
    await service.close();
    registry.close();
    const referenceMs = Math.round(median(reference));
    const tickMs = Math.round(median(ticks));
    return { sites, rules: rules.length, referenceMs, tickMs, ratio: Math.round((tickMs / referenceMs) * 100) / 100, firing, outboxRows };
  } finally {
    await influx.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function alertsReport(r: AlertsBench): string {
  return [
    '## Alerts: one evaluation tick for a province',
    '',
    `${r.sites} sites, ${r.rules} default rules, InfluxDB 1.6 on loopback; median of 5 ticks. The reference runs the same rules' InfluxQL queries and evaluation without the engine (no state, no SQLite, the same "always school time" calendar and 5 Mbit/s floor in both).`,
    '',
    '| rules only (reference), ms | full engine tick, ms | ratio | firing alerts | outbox rows (no channels configured) |',
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${r.referenceMs} | ${r.tickMs} | **${r.ratio}** | ${r.firing} | ${r.outboxRows} |`,
    '',
    `Goal: a tick well inside the 60 s evaluation interval: ${r.tickMs < 10_000 ? 'met' : 'NOT met'}.`,
  ].join('\n');
}
