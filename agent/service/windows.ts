// The agent as a Windows service. Node cannot answer the Service Control Manager itself, so the service is
// WinSW (Windows Service Wrapper, MIT): a small .NET executable, renamed songcheck-agent-service.exe, that
// reads songcheck-agent-service.xml beside it, registers itself with the SCM, starts node with the agent,
// restarts it when it dies, and on stop sends it Ctrl+C (SIGINT to node, a clean shutdown). The offline
// bundle carries WinSW 1.17 taken from the `node-windows` npm package (see scripts/bundle-agent.ts).
//
// Everything here builds Windows paths with path.win32, so the definitions are tested on Linux too.
import { win32 } from 'node:path';
import { windowsDataDir } from '../platform/paths.ts';

export const SERVICE_ID = 'songcheck-agent';
export const WRAPPER_EXE = 'songcheck-agent-service.exe';
export const WRAPPER_XML = 'songcheck-agent-service.xml';
export const AGENT_FILE = 'songcheck-agent.mjs';

/** Well-known SIDs, not names: group names are translated on a Vietnamese Windows ("Administrators" is not). */
const SID_SYSTEM = '*S-1-5-18';
const SID_ADMINISTRATORS = '*S-1-5-32-544';

export interface WindowsLayout {
  /** %ProgramFiles%\songcheck: the agent file, the wrapper and its XML. */
  installDir: string;
  /** %ProgramData%\songcheck: identity, queue, config, logs. */
  dataDir: string;
  agentScript: string;
  wrapperExe: string;
  wrapperXml: string;
}

export function windowsLayout(env: NodeJS.ProcessEnv): WindowsLayout {
  const installDir = win32.join(env.ProgramFiles || 'C:\\Program Files', 'songcheck');
  return {
    installDir,
    dataDir: windowsDataDir(env),
    agentScript: win32.join(installDir, AGENT_FILE),
    wrapperExe: win32.join(installDir, WRAPPER_EXE),
    wrapperXml: win32.join(installDir, WRAPPER_XML),
  };
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** A command-line argument for a Windows program (MSVCRT rules: quote when needed, escape quotes). */
export function quoteWindowsArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

/**
 * WinSW's XML (the 1.x schema, which 2.x also reads): started automatically at boot whether or not anyone
 * logs in, as LocalSystem; restarted 10 s after a crash, then 60 s; 20 s to stop cleanly. The agent writes
 * its own rotated log under the data directory (`run --log-file`); WinSW's own log of the wrapper and of
 * anything node prints before the agent's logger exists goes to <data>\logs too, rolled by size. CRLF line
 * endings: it is a Windows file that a technician may open in Notepad.
 */
export function winswXml(opts: { nodeExe: string; nodeFlags: string[]; layout: WindowsLayout }): string {
  const { layout } = opts;
  const args = [...opts.nodeFlags, layout.agentScript, 'run', '--log-file'].map(quoteWindowsArg).join(' ');
  const lines = [
    '<service>',
    `  <id>${SERVICE_ID}</id>`,
    '  <name>songcheck agent</name>',
    "  <description>Measures this school's Internet connection on a schedule and reports to the songcheck collector.</description>",
    `  <executable>${escapeXml(opts.nodeExe)}</executable>`,
    `  <arguments>${escapeXml(args)}</arguments>`,
    `  <workingdirectory>${escapeXml(layout.dataDir)}</workingdirectory>`,
    `  <env name="SONGCHECK_AGENT_DIR" value="${escapeXml(layout.dataDir)}"/>`,
    '  <startmode>Automatic</startmode>',
    '  <onfailure action="restart" delay="10 sec"/>',
    '  <onfailure action="restart" delay="60 sec"/>',
    '  <resetfailure>1 hour</resetfailure>',
    '  <stoptimeout>20 sec</stoptimeout>',
    `  <logpath>${escapeXml(win32.join(layout.dataDir, 'logs'))}</logpath>`,
    '  <log mode="roll-by-size">',
    '    <sizeThreshold>1024</sizeThreshold>',
    '    <keepFiles>3</keepFiles>',
    '  </log>',
    '</service>',
  ];
  return lines.join('\r\n') + '\r\n';
}

/** One step of an install or uninstall, done by a runner (the real one on Windows, a recorder in tests). */
export type Step =
  | { kind: 'mkdir'; path: string }
  | { kind: 'copy'; from: string; to: string; optional?: boolean }
  | { kind: 'write'; path: string; content: string }
  | { kind: 'exec'; file: string; args: string[]; mayFail?: boolean; why: string }
  | { kind: 'enroll'; collector: string; code: string; dataDir: string }
  | { kind: 'remove'; path: string };

export interface InstallOptions {
  env: NodeJS.ProcessEnv;
  /** node.exe that will run the agent: the one running this install. */
  nodeExe: string;
  nodeFlags: string[];
  /** The agent file being installed (this script) and the WinSW executable to install beside it. */
  sourceScript: string;
  sourceWrapper: string;
  enroll?: { collector: string; code: string };
}

export function planWindowsInstall(o: InstallOptions): Step[] {
  const layout = windowsLayout(o.env);
  const icacls = win32.join(o.env.SystemRoot || 'C:\\Windows', 'System32', 'icacls.exe');
  const steps: Step[] = [
    { kind: 'mkdir', path: layout.installDir },
    { kind: 'copy', from: o.sourceScript, to: layout.agentScript },
    { kind: 'copy', from: o.sourceWrapper, to: layout.wrapperExe },
    // WinSW 1.17 is a .NET 2 program; its .config lets it run on the .NET 4 every Windows 10/11 has.
    { kind: 'copy', from: `${o.sourceWrapper}.config`, to: `${layout.wrapperExe}.config`, optional: true },
    { kind: 'write', path: layout.wrapperXml, content: winswXml({ nodeExe: o.nodeExe, nodeFlags: o.nodeFlags, layout }) },
    { kind: 'mkdir', path: layout.dataDir },
    {
      kind: 'exec',
      file: icacls,
      // ProgramData lets every user read (and create); the device token must be readable by SYSTEM and
      // Administrators only. Replace inherited entries with exactly those two, for the folder and below.
      args: [layout.dataDir, '/inheritance:r', '/grant:r', `${SID_SYSTEM}:(OI)(CI)F`, `${SID_ADMINISTRATORS}:(OI)(CI)F`, '/T', '/Q'],
      why: 'restrict the data folder to SYSTEM and Administrators',
    },
  ];
  if (o.enroll) steps.push({ kind: 'enroll', collector: o.enroll.collector, code: o.enroll.code, dataDir: layout.dataDir });
  steps.push(
    // A previous installation is replaced: stop and unregister it first (both fail harmlessly when absent).
    { kind: 'exec', file: layout.wrapperExe, args: ['stop'], mayFail: true, why: 'stop a previous installation' },
    { kind: 'exec', file: layout.wrapperExe, args: ['uninstall'], mayFail: true, why: 'unregister a previous installation' },
    { kind: 'exec', file: layout.wrapperExe, args: ['install'], why: 'register the service (starts at boot)' },
    { kind: 'exec', file: layout.wrapperExe, args: ['start'], why: 'start the service' },
  );
  return steps;
}

export function planWindowsUninstall(o: { env: NodeJS.ProcessEnv; purge: boolean }): Step[] {
  const layout = windowsLayout(o.env);
  const steps: Step[] = [
    { kind: 'exec', file: layout.wrapperExe, args: ['stop'], mayFail: true, why: 'stop the service' },
    { kind: 'exec', file: layout.wrapperExe, args: ['uninstall'], mayFail: true, why: 'unregister the service' },
    { kind: 'remove', path: layout.installDir },
  ];
  // Without --purge the identity and any undelivered results stay: a reinstall carries on where it stopped.
  if (o.purge) steps.push({ kind: 'remove', path: layout.dataDir });
  return steps;
}

export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'mkdir':
      return `create ${s.path}`;
    case 'copy':
      return `copy ${s.from} to ${s.to}`;
    case 'write':
      return `write ${s.path}`;
    case 'exec':
      return `${s.why}: ${[s.file, ...s.args].map(quoteWindowsArg).join(' ')}`;
    case 'enroll':
      return `enroll with ${s.collector} into ${s.dataDir}`;
    case 'remove':
      return `remove ${s.path}`;
  }
}
