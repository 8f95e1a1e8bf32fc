// The offline install bundle a technician carries on a USB stick: `npm run bundle:agent` →
// dist/songcheck-agent-<version>/ plus .tar.gz (Linux, Raspberry Pi) and .zip (Windows) of it.
//
//   songcheck-agent.mjs            the one-file agent (scripts/build-agent.ts)
//   songcheck-agent.sample.yaml    every setting with its default
//   README-INSTALL.md              English and Vietnamese
//   linux/                         systemd unit, install.sh, uninstall.sh
//   windows/                       install/uninstall .cmd and .ps1, WinSW (the service wrapper), an example
//                                  service definition; CRLF line endings
//   SHA256SUMS                     `sha256sum -c` format, checked by both install scripts
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_NODE_FLAGS } from '../agent/service/node-flags.ts';
import { windowsLayout, winswXml, WRAPPER_EXE } from '../agent/service/windows.ts';
import { buildAgent } from './build-agent.ts';
import { ensureCommand } from './system-deps.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

export interface Bundle {
  dir: string;
  tarGz: string;
  zip: string;
  files: string[];
}

/** WinSW as shipped inside the node-windows npm package (a binary inside a registry package). */
function winswSource(): string {
  const pkg = createRequire(import.meta.url).resolve('node-windows/package.json');
  return join(dirname(pkg), 'bin', 'winsw', 'winsw.exe');
}

const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');

export async function bundleAgent(outDir = join(root, 'dist')): Promise<Bundle> {
  const name = `songcheck-agent-${version}`;
  const dir = join(outDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'linux'), { recursive: true });
  mkdirSync(join(dir, 'windows'), { recursive: true });

  await buildAgent(join(dir, 'songcheck-agent.mjs'));
  copyFileSync(join(root, 'agent', 'songcheck-agent.sample.yaml'), join(dir, 'songcheck-agent.sample.yaml'));
  copyFileSync(join(root, 'packaging', 'README-INSTALL.md'), join(dir, 'README-INSTALL.md'));

  for (const f of ['songcheck-agent.service', 'install.sh', 'uninstall.sh']) copyFileSync(join(root, 'packaging', 'linux', f), join(dir, 'linux', f));
  chmodSync(join(dir, 'linux', 'install.sh'), 0o755);
  chmodSync(join(dir, 'linux', 'uninstall.sh'), 0o755);

  for (const f of ['install.ps1', 'uninstall.ps1', 'install.cmd', 'uninstall.cmd', 'WinSW-LICENSE.txt']) {
    writeFileSync(join(dir, 'windows', f), crlf(readFileSync(join(root, 'packaging', 'windows', f), 'utf8')));
  }
  const winsw = winswSource();
  copyFileSync(winsw, join(dir, 'windows', WRAPPER_EXE));
  copyFileSync(`${winsw}.config`, join(dir, 'windows', `${WRAPPER_EXE}.config`));
  // What `service install` writes, with the usual paths, for an administrator to read before rolling out.
  const example = winswXml({ nodeExe: 'C:\\Program Files\\nodejs\\node.exe', nodeFlags: AGENT_NODE_FLAGS, layout: windowsLayout({}) });
  writeFileSync(join(dir, 'windows', 'songcheck-agent-service.example.xml'), example);

  const files = listFiles(dir);
  writeFileSync(join(dir, 'SHA256SUMS'), files.map((f) => `${sha256(join(dir, f))}  ${f}\n`).join(''));

  const tarGz = `${dir}.tar.gz`;
  const zip = `${dir}.zip`;
  rmSync(tarGz, { force: true });
  rmSync(zip, { force: true });
  await run('tar', ['-czf', tarGz, '--owner=0', '--group=0', '-C', outDir, name], outDir);
  await run(await ensureCommand('zip', 'zip'), ['-q', '-r', '-X', zip, name], outDir);
  return { dir, tarGz, zip, files: [...files, 'SHA256SUMS'] };
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? listFiles(join(dir, n), base) : [relative(base, join(dir, n)).split('\\').join('/')]));
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function run(file: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')} failed (${code}): ${err.trim()}`))));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const b = await bundleAgent();
  console.log(`bundle: ${b.dir}\n        ${b.tarGz}\n        ${b.zip}\n${b.files.length} files, checksums in SHA256SUMS`);
}
