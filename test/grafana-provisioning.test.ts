// The committed Grafana files hold together: generated JSON is current, every datasource uid, variable and
// dashboard link a panel uses exists, provisioning YAML parses and points at files that exist, and the
// docker-compose deployment wires them up (checked by `docker compose config`, or Debian's docker-compose).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { DATASOURCE } from '../dashboards/src/builder.ts';
import { renderAll } from '../dashboards/src/generate.ts';
import { type AlertingFile, checkAlerting, checkDashboards, missingBindSources } from './support/grafana-checks.ts';
import { loadDashboards, REPO } from './support/grafana-panels.ts';
import { ensureCommand } from '../scripts/system-deps.ts';

const read = (path: string) => readFileSync(`${REPO}${path}`, 'utf8');
const yamlFile = (path: string) => parse(read(path)) as unknown;

describe('generated dashboards and alert rules', () => {
  it('are up to date with dashboards/src (run `npm run dashboards`)', () => {
    for (const [path, content] of renderAll()) expect(read(path), `${path} is stale: run npm run dashboards`).toBe(content);
  });

  it('use only the provisioned datasource, defined variables and links to existing dashboards and variables', () => {
    expect(checkDashboards(loadDashboards(), DATASOURCE.uid)).toEqual([]);
  });

  it('reports a broken copy: unknown datasource, variable, dashboard and link variable', () => {
    const [province, site, ...rest] = loadDashboards();
    const broken = structuredClone(province!);
    broken.panels[0]!.targets[0]!.datasource.uid = 'other';
    broken.panels[0]!.targets[0]!.query += ' AND "x" =~ /^$nope$/';
    broken.links.push({ type: 'link', url: '/d/no-such-dashboard' }, { type: 'link', url: '/d/songcheck-site?var-nosuchvar=1' });
    const problems = checkDashboards([broken, site!, ...rest], DATASOURCE.uid).join('\n');
    expect(problems).toContain('uses datasource other');
    expect(problems).toContain('undefined variable $nope');
    expect(problems).toContain('/d/no-such-dashboard points at no dashboard');
    expect(problems).toContain('sets var-nosuchvar');
  });

  it('has fixed uids and Vietnamese titles', () => {
    expect(loadDashboards().map((d) => d.uid)).toEqual(['songcheck-province', 'songcheck-site', 'songcheck-operators', 'songcheck-fleet']);
    expect(loadDashboards().map((d) => d.title)).toEqual(['songcheck — Tổng quan tỉnh', 'songcheck — Chi tiết điểm trường', 'songcheck — So sánh nhà mạng', 'songcheck — Đội thiết bị đo']);
  });
});

const Datasources = z.object({
  apiVersion: z.literal(1),
  datasources: z.array(z.object({ uid: z.string(), type: z.literal('influxdb'), url: z.string(), database: z.string(), user: z.string(), secureJsonData: z.object({ password: z.string() }) })).length(1),
});
const Providers = z.object({ apiVersion: z.literal(1), providers: z.array(z.object({ name: z.string(), type: z.literal('file'), options: z.object({ path: z.string() }) })).length(1) });
const Compose = z.object({
  services: z.record(
    z.string(),
    z.object({
      image: z.string(),
      healthcheck: z.object({ test: z.array(z.string()) }),
      volumes: z.array(z.string()),
      environment: z.record(z.string(), z.string()),
    }),
  ),
  volumes: z.record(z.string(), z.unknown()),
});

describe('provisioning', () => {
  it('datasource: the dashboards\' uid, credentials from environment variables', () => {
    const file = Datasources.parse(yamlFile('provisioning/datasources/songcheck.yaml'));
    const ds = file.datasources[0]!;
    expect(ds.uid).toBe(DATASOURCE.uid);
    for (const value of [ds.url, ds.database, ds.user, ds.secureJsonData.password]) expect(value).toMatch(/^\$\{[A-Z_]+\}$/);
  });

  it('dashboard provider: its path is where docker-compose mounts dashboards/, which holds the JSON', () => {
    const provider = Providers.parse(yamlFile('provisioning/dashboards/songcheck.yaml')).providers[0]!;
    const compose = Compose.parse(yamlFile('docker-compose.yml'));
    expect(compose.services.grafana!.volumes).toContain(`./dashboards:${provider.options.path}:ro`);
    expect(compose.services.grafana!.volumes).toContain('./provisioning:/etc/grafana/provisioning:ro');
  });

  it('alerting: rules, contact point, policy and mute timing reference each other and the datasource', () => {
    const file = yamlFile('provisioning/alerting/songcheck.yaml') as AlertingFile;
    expect(file.groups[0]!.rules.length).toBe(10);
    // The webhook URL comes from the environment; no YAML anchors (hand edits of a copy stay obvious).
    expect(read('provisioning/alerting/songcheck.yaml')).toContain('url: ${GRAFANA_ALERT_WEBHOOK_URL}');
    expect(read('provisioning/alerting/songcheck.yaml')).not.toMatch(/[&*]a\d/);
    expect(checkAlerting(file, DATASOURCE.uid)).toEqual([]);
    const broken = structuredClone(file);
    broken.groups[0]!.rules[0]!.data[0]!.datasourceUid = 'elsewhere';
    broken.policies[0]!.routes![0]!.mute_time_intervals = ['never-defined'];
    expect(checkAlerting(broken, DATASOURCE.uid).join('\n')).toMatch(/datasource elsewhere[\s\S]*never-defined/);
  });
});

describe('docker-compose deployment', () => {
  const compose = Compose.parse(yamlFile('docker-compose.yml'));

  it('pins every image, checks every service\'s health, keeps data in named volumes', () => {
    // postgres: the optional profile (several collectors, docs/deployment.md).
    expect(Object.keys(compose.services).sort()).toEqual(['collector', 'grafana', 'influxdb', 'postgres']);
    for (const [name, s] of Object.entries(compose.services)) {
      // PostgreSQL numbers its releases major.minor (16.6); the others major.minor.patch.
      expect(s.image, name).toMatch(name === 'postgres' ? /:\d+\.\d+-bookworm$/ : /:\d+\.\d+\.\d+$/);
      expect(s.healthcheck.test.length, name).toBeGreaterThan(1);
      expect(missingBindSources(REPO, s.volumes), name).toEqual([]);
      for (const v of s.volumes.filter((v) => !v.startsWith('./'))) expect(Object.keys(compose.volumes)).toContain(v.split(':')[0]);
    }
    expect(read('Dockerfile')).toMatch(/^FROM node:20\.\d+\.\d+-bookworm-slim/m);
  });

  it('.env.example sets every variable the compose file requires', () => {
    const required = [...read('docker-compose.yml').matchAll(/\$\{(\w+):\?/g)].map((m) => m[1]!);
    const example = new Set([...read('.env.example').matchAll(/^(\w+)=/gm)].map((m) => m[1]!));
    expect(required.length).toBeGreaterThan(5);
    expect(required.filter((v) => !example.has(v))).toEqual([]);
  });

  // `docker compose` (the CLI plugin) when it is there; otherwise Debian's `docker-compose`, which validates the
  // same file without an engine (installed with apt when root, like the other tools the tests need).
  it('`docker compose config` refuses .env.example until its secrets are filled, then accepts it', async () => {
    const plugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
    const [file, prefix] = plugin ? ['docker', ['compose']] : [await ensureCommand('docker-compose', 'docker-compose'), []];
    const config = (envFile: string) => spawnSync(file, [...prefix, '--env-file', envFile, '-f', 'docker-compose.yml', 'config', '--quiet'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    // The secrets are empty on purpose (issue 14): no placeholder can start.
    expect(config('.env.example').status).not.toBe(0);
    const filled = path.join(os.tmpdir(), `songcheck-env-${process.pid}`);
    fs.writeFileSync(filled, read('.env.example').replace(/^(\w*(?:TOKEN|PASSWORD|KEY))=$/gm, (_, name: string) => `${name}=${randomBytes(24).toString('hex')}`));
    try {
      const r = config(filled);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(filled, { force: true });
    }
  }, 600_000);
});
