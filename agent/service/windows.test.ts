// The Windows service definition and install steps, checked on Linux: everything is built with path.win32.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultDataDir } from '../platform/paths.ts';
import { runSteps } from './run-steps.ts';
import { planWindowsInstall, planWindowsUninstall, quoteWindowsArg, windowsLayout, winswXml, type Step } from './windows.ts';

const env = { ProgramFiles: 'C:\\Program Files', ProgramData: 'C:\\ProgramData', SystemRoot: 'C:\\WINDOWS' };
const NODE = 'C:\\Program Files\\nodejs\\node.exe';

describe('Windows paths', () => {
  it('puts the agent under Program Files and its data under ProgramData, from the environment', () => {
    expect(windowsLayout(env)).toEqual({
      installDir: 'C:\\Program Files\\songcheck',
      dataDir: 'C:\\ProgramData\\songcheck',
      agentScript: 'C:\\Program Files\\songcheck\\songcheck-agent.mjs',
      wrapperExe: 'C:\\Program Files\\songcheck\\songcheck-agent-service.exe',
      wrapperXml: 'C:\\Program Files\\songcheck\\songcheck-agent-service.xml',
    });
    // A machine with ProgramData on D: (a district image) and the defaults when the variables are missing.
    expect(windowsLayout({ ProgramFiles: 'D:\\Apps', ProgramData: 'D:\\Data' }).dataDir).toBe('D:\\Data\\songcheck');
    expect(windowsLayout({}).installDir).toBe('C:\\Program Files\\songcheck');
  });

  it('a service running as LocalSystem defaults to ProgramData; a person to their profile', () => {
    expect(defaultDataDir({ USERPROFILE: 'C:\\WINDOWS\\system32\\config\\systemprofile', ProgramData: 'C:\\ProgramData' }, 'win32')).toBe('C:\\ProgramData\\songcheck');
    expect(defaultDataDir({ USERPROFILE: 'C:\\Users\\giaovien' }, 'win32')).not.toContain('ProgramData');
    expect(defaultDataDir({ SONGCHECK_AGENT_DIR: 'E:\\songcheck', USERPROFILE: 'C:\\WINDOWS\\system32\\config\\systemprofile' }, 'win32')).toBe('E:\\songcheck');
  });

  it('quotes arguments the way Windows programs parse them', () => {
    expect(quoteWindowsArg('run')).toBe('run');
    expect(quoteWindowsArg('C:\\Program Files\\songcheck\\songcheck-agent.mjs')).toBe('"C:\\Program Files\\songcheck\\songcheck-agent.mjs"');
    expect(quoteWindowsArg('C:\\dir with space\\')).toBe('"C:\\dir with space\\\\"');
    expect(quoteWindowsArg('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteWindowsArg('')).toBe('""');
  });
});

describe('WinSW service definition', () => {
  const xml = winswXml({ nodeExe: NODE, nodeFlags: ['--max-semi-space-size=1'], layout: windowsLayout(env) });

  it('starts node with the agent at boot as a service, restarts it on failure, logs under ProgramData', () => {
    expect(xml).toContain('<id>songcheck-agent</id>');
    expect(xml).toContain(`<executable>${NODE}</executable>`);
    expect(xml).toContain('<arguments>--max-semi-space-size=1 &quot;C:\\Program Files\\songcheck\\songcheck-agent.mjs&quot; run --log-file</arguments>');
    expect(xml).toContain('<env name="SONGCHECK_AGENT_DIR" value="C:\\ProgramData\\songcheck"/>');
    expect(xml).toContain('<startmode>Automatic</startmode>');
    expect(xml).toContain('<onfailure action="restart" delay="10 sec"/>');
    expect(xml).toContain('<logpath>C:\\ProgramData\\songcheck\\logs</logpath>');
    // No dependency on the network being up: the agent starts at boot whatever the link does.
    expect(xml).not.toMatch(/<depend>/);
  });

  it('is well-formed XML with CRLF line endings and escapes what it embeds', () => {
    expect(xml.split('\r\n').length).toBeGreaterThan(10);
    expect(xml.replace(/\r\n/g, '')).not.toContain('\n');
    const odd = winswXml({ nodeExe: 'C:\\A&B\\<node>.exe', nodeFlags: [], layout: windowsLayout(env) });
    expect(odd).toContain('<executable>C:\\A&amp;B\\&lt;node&gt;.exe</executable>');
    // Every element opened is closed, in order (a small well-formedness check without an XML parser).
    const stack: string[] = [];
    for (const [, close, name, selfClosing] of xml.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
      if (selfClosing) continue;
      if (close) expect(stack.pop()).toBe(name);
      else stack.push(name!);
    }
    expect(stack).toEqual([]);
  });
});

describe('install and uninstall steps', () => {
  const steps = planWindowsInstall({
    env,
    nodeExe: NODE,
    nodeFlags: ['--max-semi-space-size=1'],
    sourceScript: 'E:\\songcheck-agent-0.1.0\\songcheck-agent.mjs',
    sourceWrapper: 'E:\\songcheck-agent-0.1.0\\windows\\songcheck-agent-service.exe',
    enroll: { collector: 'https://songcheck.example.vn', code: 'K7QM-3XTP-9HWD' },
  });

  it('copies, writes the definition, locks down the data folder by SID, enrolls, then registers and starts', () => {
    const kinds = steps.map((s) => (s.kind === 'exec' ? `exec:${s.args[0]}` : s.kind));
    expect(kinds).toEqual(['mkdir', 'copy', 'copy', 'copy', 'write', 'mkdir', 'exec:C:\\ProgramData\\songcheck', 'enroll', 'exec:stop', 'exec:uninstall', 'exec:install', 'exec:start']);
    const acl = steps.find((s): s is Extract<Step, { kind: 'exec' }> => s.kind === 'exec' && s.file.endsWith('icacls.exe'))!;
    expect(acl.file).toBe('C:\\WINDOWS\\System32\\icacls.exe');
    expect(acl.args).toEqual(['C:\\ProgramData\\songcheck', '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F', '/T', '/Q']);
    const enroll = steps.find((s) => s.kind === 'enroll');
    expect(enroll).toEqual({ kind: 'enroll', collector: 'https://songcheck.example.vn', code: 'K7QM-3XTP-9HWD', dataDir: 'C:\\ProgramData\\songcheck' });
    const stop = steps.find((s) => s.kind === 'exec' && s.args[0] === 'stop');
    expect(stop).toMatchObject({ mayFail: true, file: 'C:\\Program Files\\songcheck\\songcheck-agent-service.exe' });
    expect(steps.find((s) => s.kind === 'exec' && s.args[0] === 'install')).not.toHaveProperty('mayFail');
  });

  it('uninstall keeps the data unless purged', () => {
    expect(planWindowsUninstall({ env, purge: false }).filter((s) => s.kind === 'remove')).toEqual([{ kind: 'remove', path: 'C:\\Program Files\\songcheck' }]);
    expect(planWindowsUninstall({ env, purge: true }).filter((s) => s.kind === 'remove').map((s) => (s as { path: string }).path)).toEqual(['C:\\Program Files\\songcheck', 'C:\\ProgramData\\songcheck']);
  });
});

describe('running steps', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('does real file work, stops at a failing command, lets a may-fail command pass', async () => {
    dir = mkdtempSync(join(tmpdir(), 'songcheck-steps-'));
    writeFileSync(join(dir, 'src'), 'agent');
    const enrolled: string[] = [];
    const log: string[] = [];
    const ok = await runSteps(
      [
        { kind: 'mkdir', path: join(dir, 'inst') },
        { kind: 'copy', from: join(dir, 'src'), to: join(dir, 'inst', 'a.mjs') },
        { kind: 'copy', from: join(dir, 'missing'), to: join(dir, 'inst', 'b'), optional: true },
        { kind: 'write', path: join(dir, 'inst', 'x.xml'), content: '<service/>\r\n' },
        { kind: 'enroll', collector: 'http://c', code: 'CODE', dataDir: join(dir, 'data') },
        { kind: 'exec', file: 'false', args: [], mayFail: true, why: 'may fail' },
        { kind: 'exec', file: 'false', args: [], why: 'must work' },
        { kind: 'remove', path: join(dir, 'inst') },
      ],
      { enroll: async (c, code, d) => void enrolled.push(`${c} ${code} ${d}`) },
      (l) => log.push(l),
    );
    expect(ok).toBe(false);
    expect(readFileSync(join(dir, 'inst', 'a.mjs'), 'utf8')).toBe('agent');
    expect(readFileSync(join(dir, 'inst', 'x.xml'), 'utf8')).toBe('<service/>\r\n');
    expect(existsSync(join(dir, 'inst', 'b'))).toBe(false);
    expect(enrolled).toEqual([`http://c CODE ${join(dir, 'data')}`]);
    // The failing step stopped the run before the removal.
    expect(existsSync(join(dir, 'inst'))).toBe(true);
    expect(log.at(-1)).toMatch(/failed \(exit 1\)/);
  });
});
