// `npm run demo`: the whole stack on this machine. A real InfluxDB (installed with apt when missing and we
// are root), the collector, a demo province (a dozen sites with 30 days of history sent through the
// collector's ingest, scripts/demo-province.ts) judged once by the nightly verdict run, one live agent on a
// fast schedule with its table, and the console's address with a one-time sign-in link.
// Data stays under .data/ (git-ignored) between runs; delete it to start afresh.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';
import { startInfluxd } from './influxd-server.ts';
import { loadDemoProvince, runNightlyVerdicts } from './demo-province.ts';
import { scheduledPeriods } from '../collector/compliance/periods.ts';
import { SessionKeys } from '../collector/console/session.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
// SONGCHECK_DEMO_DIR moves the demo's data elsewhere (the demo's own test uses a temporary directory).
const data = process.env.SONGCHECK_DEMO_DIR ?? join(root, '.data', 'demo');
const collectorBin = join(root, 'bin', 'songcheck-collector.js');
const agentBin = join(root, 'bin', 'songcheck-agent.js');
const SITE = 'DEMO-001';
const say = (line: string) => console.log(`[demo] ${line}`);

function run(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

async function main(): Promise<void> {
  mkdirSync(data, { recursive: true });
  say('starting InfluxDB (Debian package influxdb; installed with apt when missing)...');
  const influx = await startInfluxd({ dataDir: join(data, 'influxdb'), databases: ['songcheck'], log: (l) => say(l) });
  say(`InfluxDB at ${influx.url}`);

  const port = await freePort();
  const collectorUrl = `http://127.0.0.1:${port}`;
  const env = {
    SONGCHECK_HOST: '127.0.0.1',
    SONGCHECK_PORT: String(port),
    SONGCHECK_INFLUX_URL: influx.url,
    SONGCHECK_INFLUX_DB: 'songcheck',
    SONGCHECK_DATA_DIR: join(data, 'collector'),
    // Fresh for each run, as an operator generates them (the collector refuses placeholders).
    SONGCHECK_ADMIN_TOKEN: randomBytes(32).toString('hex'),
    SONGCHECK_TEST_TOKEN_KEY: randomBytes(32).toString('hex'),
    SONGCHECK_LOG_LEVEL: 'warn',
  };
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const c of children.reverse()) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await influx.stop();
    say(`stopped; data kept in ${data}`);
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const sites = await run(collectorBin, ['sites', 'list', '--json'], env);
  if (!sites.out.includes(`"${SITE}"`)) {
    const added = await run(collectorBin, ['sites', 'add', '--code', SITE, '--name', 'Điểm trường Bản Xèo (demo)', '--commune', 'Bản Xèo', '--operator', 'viettel', '--link-type', '4g', '--lat', '22.58', '--lon', '103.76'], env);
    if (added.code !== 0) throw new Error(`could not add the demo site:\n${added.out}`);
    say(`added site ${SITE}`);
  }

  const collector = spawn(process.execPath, [collectorBin, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(collector);
  collector.on('exit', (code) => !stopping && (say(`collector exited (${code})`), void stopAll(1)));
  await waitFor(`${collectorUrl}/healthz`);
  say(`collector at ${collectorUrl}`);

  say('loading the demo province (12 sites, 30 days of history through the collector\'s ingest)...');
  const province = await loadDemoProvince({ collectorUrl, adminToken: env.SONGCHECK_ADMIN_TOKEN, dataDir: env.SONGCHECK_DATA_DIR, log: say });
  if (!province.loaded) say('demo province already loaded');
  const periods = scheduledPeriods('Asia/Ho_Chi_Minh', Date.now()).map((p) => p.label);
  const verdicts = await runNightlyVerdicts({ collectorUrl, adminToken: env.SONGCHECK_ADMIN_TOKEN, periods });
  say(`nightly verdicts computed for ${periods.join(', ')}; rolling30: ${Object.entries(verdicts.rolling30 ?? {}).map(([k, v]) => `${v} ${k}`).join(', ')}`);

  const agentDir = join(data, 'agent');
  if (!existsSync(join(agentDir, 'identity.json'))) {
    const code = await run(collectorBin, ['enroll-code', '--site', SITE], env);
    const enrollment = /\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b/.exec(code.out)?.[0];
    if (!enrollment) throw new Error(`no enrollment code:\n${code.out}`);
    const enrolled = await run(agentBin, ['enroll', '--collector', collectorUrl, '--code', enrollment, '--data-dir', agentDir], {});
    if (enrolled.code !== 0) throw new Error(`agent enrollment failed:\n${enrolled.out}`);
    say(enrolled.out.trim().split('\n')[0]!);
  } else {
    say(`agent already enrolled (${agentDir})`);
  }
  say(`see the points: curl -G '${influx.url}/query' --data-urlencode db=songcheck --data-urlencode "q=SELECT * FROM latency ORDER BY time DESC LIMIT 5"`);
  // Signed with a key derived from the admin token, so the collector accepts it; it works once, for 15 minutes.
  const link = new SessionKeys(env.SONGCHECK_ADMIN_TOKEN).oneTimeLink('admin');
  const consoleLine = `console: ${collectorUrl}/console  (sign in once with ${collectorUrl}/console/login/link?t=${link} , or with the admin token ${env.SONGCHECK_ADMIN_TOKEN})`;
  say(consoleLine);
  await new Promise((r) => setTimeout(r, 1500));

  const agent = spawn(
    process.execPath,
    [agentBin, 'run', '--live', '--data-dir', agentDir, '--config', join(root, 'scripts', 'demo-agent.yaml')],
    // The collector's port changes between runs while the stored identity keeps the first URL.
    // On a terminal the live table redraws the screen; it keeps the console's address under itself.
    { env: { ...process.env, SONGCHECK_COLLECTOR_URL: collectorUrl, SONGCHECK_LIVE_NOTE: `[demo] ${consoleLine}` }, stdio: 'inherit' },
  );
  children.push(agent);
  agent.on('exit', (code) => !stopping && (say(`agent exited (${code})`), void stopAll(code ?? 1)));
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await fetch(url).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within 30 s`);
}

main().catch((err: unknown) => {
  console.error(`[demo] ${(err as Error).message}`);
  process.exit(1);
});
