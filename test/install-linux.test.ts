// The offline bundle and the Linux install, for real: the bundle is built and its checksums verified; the
// systemd unit passes `systemd-analyze verify`; install.sh runs as root against a throwaway root directory
// (real useradd --root, real systemctl --root, the real bundle enrolling as the new system user with a real
// collector), the installed agent then runs as that user with --log-file and delivers to InfluxDB, `status`
// reads it, and uninstall.sh keeps or purges the data.
//
// A debootstrap chroot would add nothing the script touches (it needs no package from the root: node runs
// from the host, useradd and systemctl take --root) and costs minutes of downloads per run.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bundleAgent, sha256, type Bundle } from '../scripts/bundle-agent.ts';
import { ensureCommand } from '../scripts/system-deps.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';
import { eventually, killAll } from './support/processes.ts';
import { createStack, FAST_AGENT_CONFIG, type Stack } from './support/stack.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('install');
const work = mkdtempSync(join(tmpdir(), 'songcheck-install-'));
const root = join(work, 'root');
let bundle: Bundle;
let stack: Stack;

function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** A root file system with just what install.sh reads: the account files and systemd's target units. */
function makeRoot(): void {
  mkdirSync(join(root, 'etc'), { recursive: true });
  for (const f of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs']) if (existsSync(`/etc/${f}`)) cpSync(`/etc/${f}`, join(root, 'etc', f));
  mkdirSync(join(root, 'usr/lib/systemd/system'), { recursive: true });
  for (const u of ['multi-user.target', 'basic.target']) if (existsSync(`/usr/lib/systemd/system/${u}`)) cpSync(`/usr/lib/systemd/system/${u}`, join(root, 'usr/lib/systemd/system', u));
  // The service user must be able to reach the installed file, as it can under a real /.
  chmodSync(work, 0o755);
  chmodSync(root, 0o755);
}

const uidOf = (name: string) => readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))?.split(':');

beforeAll(async () => {
  await ensureCommand('systemd-analyze', 'systemd');
  await ensureCommand('useradd', 'passwd');
  await ensureCommand('setpriv', 'util-linux');
  await createDb(influxUrl, db);
  bundle = await bundleAgent(join(work, 'dist'));
  // The collector recommends a newer agent than this one: the installed agent must say it is behind.
  stack = await createStack({ influxUrl, db, siteCode: 'INSTALL-1', collectorEnv: { SONGCHECK_RECOMMENDED_AGENT_VERSION: '99.0.0' } });
  await stack.startCollector();
  makeRoot();
});
afterAll(async () => {
  await killAll();
  stack?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('offline bundle', () => {
  it('holds the agent, sample config, Linux and Windows files, and checksums that verify', async () => {
    expect(bundle.files).toEqual(
      expect.arrayContaining([
        'songcheck-agent.mjs',
        'songcheck-agent.sample.yaml',
        'README-INSTALL.md',
        'linux/songcheck-agent.service',
        'linux/install.sh',
        'linux/uninstall.sh',
        'windows/install.ps1',
        'windows/install.cmd',
        'windows/uninstall.ps1',
        'windows/songcheck-agent-service.exe',
        'windows/songcheck-agent-service.example.xml',
        'SHA256SUMS',
      ]),
    );
    const check = await run('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: bundle.dir });
    expect(check.code, check.output).toBe(0);
    const sums = readFileSync(join(bundle.dir, 'SHA256SUMS'), 'utf8');
    expect(sums).toContain(`${sha256(join(bundle.dir, 'songcheck-agent.mjs'))}  songcheck-agent.mjs`);
    // Windows files carry CRLF; Linux scripts LF and executable.
    expect(readFileSync(join(bundle.dir, 'windows/install.ps1'), 'utf8')).toMatch(/\r\n/);
    expect(readFileSync(join(bundle.dir, 'windows/install.ps1'), 'utf8').replace(/\r\n/g, '')).not.toContain('\n');
    expect(readFileSync(join(bundle.dir, 'linux/install.sh'), 'utf8')).not.toContain('\r');
    expect(statSync(join(bundle.dir, 'linux/install.sh')).mode & 0o111).not.toBe(0);
    // The archives hold the same tree.
    const tar = await run('tar', ['-tzf', bundle.tarGz]);
    expect(tar.output).toContain('songcheck-agent-0.2.0/windows/songcheck-agent-service.exe');
    const zip = await run('unzip', ['-l', bundle.zip]);
    if (zip.code === 0) expect(zip.output).toContain('songcheck-agent-0.2.0/linux/install.sh');
    // A damaged copy is refused by install.sh before it changes anything.
    const damaged = join(work, 'damaged');
    cpSync(bundle.dir, damaged, { recursive: true });
    writeFileSync(join(damaged, 'songcheck-agent.mjs'), 'corrupted on the USB stick');
    const untouched = join(work, 'untouched-root');
    mkdirSync(untouched);
    const refused = await run('sh', [join(damaged, 'linux/install.sh'), '--root', untouched, '--collector', stack.collectorUrl, '--code', 'XXXX-XXXX-XXXX']);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('the bundle is damaged');
    expect(readdirSync(untouched)).toEqual([]);
  });

  it('the systemd unit passes systemd-analyze verify', async () => {
    const r = await run('systemd-analyze', ['verify', join(bundle.dir, 'linux/songcheck-agent.service')]);
    expect(r.code, r.output).toBe(0);
    // Warnings would still exit 0: there must be none.
    expect(r.output.trim()).toBe('');
    const unit = readFileSync(join(bundle.dir, 'linux/songcheck-agent.service'), 'utf8');
    for (const line of ['User=songcheck', 'StateDirectory=songcheck', 'Restart=on-failure', 'WantedBy=multi-user.target', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=']) {
      expect(unit).toContain(`\n${line}\n`);
    }
    expect(unit).not.toMatch(/^(After|Wants|Requires)=.*network-online/m);
  });
});

describe('install.sh into a throwaway root', () => {
  it('creates the user, installs the unit enabled at boot, enrolls as the service user; the agent then delivers', async () => {
    const code = /\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b/.exec(await stackCode())![0];
    const r = await run('sh', [join(bundle.dir, 'linux/install.sh'), '--root', root, '--collector', stack.collectorUrl, '--code', code]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('bundle checksums: ok');
    expect(r.output).toContain('created system user songcheck');

    const user = uidOf('songcheck')!;
    expect(user[6]).toBe('/usr/sbin/nologin');
    const [uid, gid] = [Number(user[2]), Number(user[3])];
    expect(uid).toBeLessThan(1000); // a system account
    expect(readFileSync(join(root, 'etc/group'), 'utf8')).toMatch(/^songcheck:/m);

    expect(readFileSync(join(root, 'opt/songcheck/songcheck-agent.mjs'))).toEqual(readFileSync(join(bundle.dir, 'songcheck-agent.mjs')));
    const unit = join(root, 'etc/systemd/system/songcheck-agent.service');
    expect(readFileSync(unit, 'utf8')).toContain('ExecStart=/usr/bin/env node --max-semi-space-size=1 /opt/songcheck/songcheck-agent.mjs run --log-file');
    const wants = join(root, 'etc/systemd/system/multi-user.target.wants/songcheck-agent.service');
    expect(lstatSync(wants).isSymbolicLink()).toBe(true);
    expect(readlinkSync(wants)).toBe('/etc/systemd/system/songcheck-agent.service');
    expect(statSync(join(root, 'usr/local/bin/songcheck-agent')).mode & 0o111).not.toBe(0);

    // The identity belongs to the service user and nobody else can read it.
    const state = join(root, 'var/lib/songcheck');
    expect(statSync(state)).toMatchObject({ uid, gid });
    expect(statSync(state).mode & 0o777).toBe(0o700);
    const identity = join(state, 'identity.json');
    expect(statSync(identity)).toMatchObject({ uid });
    expect(statSync(identity).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(identity, 'utf8'))).toMatchObject({ site: { code: 'INSTALL-1' }, collectorUrl: stack.collectorUrl });

    // Run the installed agent the way the unit does: as songcheck, on the state directory, logging to files.
    const config = join(state, 'config.yaml');
    writeFileSync(config, FAST_AGENT_CONFIG);
    chmodSync(config, 0o600);
    await run('chown', [`${uid}:${gid}`, config]);
    const asService = (args: string[]) => ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', 'env', `SONGCHECK_AGENT_DIR=${state}`, `HOME=${state}`, process.execPath, '--max-semi-space-size=1', join(root, 'opt/songcheck/songcheck-agent.mjs'), ...args];
    const { spawn } = await import('node:child_process');
    const agent = spawn('setpriv', asService(['run', '--log-file']), { stdio: 'ignore' });
    try {
      await eventually(async () => (await influxQuery(influxUrl, db, `SELECT * FROM latency WHERE site = 'INSTALL-1' LIMIT 1`))[0], 30_000, 'a result from the installed agent');
      const status = await eventually(
        async () => {
          const s = await run('setpriv', asService(['status', '--json']));
          const parsed = JSON.parse(s.output) as { enrolled: boolean; running?: { pid: number }; lastResults: unknown[]; behind?: boolean; recommendedAgentVersion?: string; lastUploadAt?: number };
          return parsed.behind && parsed.lastUploadAt ? parsed : undefined;
        },
        30_000,
        'status showing a delivery and the recommended version',
      );
      expect(status).toMatchObject({ enrolled: true, running: { pid: expect.any(Number) }, recommendedAgentVersion: '99.0.0', behind: true });
      expect(status.lastResults.length).toBeGreaterThan(0);
      // The log file is the service's log: rotated files under the state directory, owned by the service user.
      const log = join(state, 'logs/agent.log');
      const warned = await eventually(() => (readFileSync(log, 'utf8').includes('older than the version the collector recommends') ? true : undefined), 15_000, 'the behind warning in the log');
      expect(warned).toBe(true);
      expect(statSync(log)).toMatchObject({ uid });
    } finally {
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
    }
    // SIGTERM is a clean stop: the run lock is released.
    expect(existsSync(join(state, 'agent.lock'))).toBe(false);
  });

  it('reinstalling without a code keeps the identity; uninstall keeps the data; --purge removes data and user', async () => {
    const before = readFileSync(join(root, 'var/lib/songcheck/identity.json'), 'utf8');
    const again = await run('sh', [join(bundle.dir, 'linux/install.sh'), '--root', root]);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('already enrolled');
    expect(readFileSync(join(root, 'var/lib/songcheck/identity.json'), 'utf8')).toBe(before);

    const keep = await run('sh', [join(root, 'opt/songcheck/uninstall.sh'), '--root', root]);
    expect(keep.code, keep.output).toBe(0);
    expect(existsSync(join(root, 'etc/systemd/system/songcheck-agent.service'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/songcheck-agent.service'))).toBe(false);
    expect(existsSync(join(root, 'opt/songcheck'))).toBe(false);
    expect(existsSync(join(root, 'usr/local/bin/songcheck-agent'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/songcheck/identity.json'))).toBe(true);
    expect(uidOf('songcheck')).toBeDefined();

    const purge = await run('sh', [join(bundle.dir, 'linux/uninstall.sh'), '--root', root, '--purge']);
    expect(purge.code, purge.output).toBe(0);
    expect(existsSync(join(root, 'var/lib/songcheck'))).toBe(false);
    expect(uidOf('songcheck')).toBeUndefined();
  });
});

async function stackCode(): Promise<string> {
  const { runNode, COLLECTOR_BIN } = await import('./support/processes.ts');
  const r = await runNode(COLLECTOR_BIN, ['enroll-code', '--site', 'INSTALL-1'], {
    SONGCHECK_DATA_DIR: join(stack.root, 'collector'),
  });
  if (r.code !== 0) throw new Error(r.output);
  return r.output;
}
