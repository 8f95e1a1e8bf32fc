// `songcheck-agent service install|uninstall|definition`: the Windows service (WinSW), see
// agent/service/windows.ts. On Linux the offline bundle's install.sh sets up systemd instead.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { enroll } from '../identity/enroll.ts';
import { ensureDataDir } from '../identity/identity.ts';
import { AGENT_NODE_FLAGS } from '../service/node-flags.ts';
import { runSteps } from '../service/run-steps.ts';
import { describeStep, planWindowsInstall, planWindowsUninstall, SERVICE_ID, windowsLayout, winswXml, WRAPPER_EXE } from '../service/windows.ts';


interface CliHelpers {
  asUsage<T>(parse: () => T): T;
  UsageError: new (message: string) => Error;
}

export async function cmdService(args: string[], { asUsage, UsageError }: CliHelpers): Promise<number> {
  const [action, ...rest] = args;
  const { values } = asUsage(() =>
    parseArgs({
      args: rest,
      options: {
        collector: { type: 'string' },
        code: { type: 'string' },
        winsw: { type: 'string' },
        purge: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
      },
    }),
  );
  const env = process.env;
  const dryRun = values['dry-run'] || process.platform !== 'win32';
  if (action === 'definition') {
    process.stdout.write(winswXml({ nodeExe: process.execPath, nodeFlags: AGENT_NODE_FLAGS, layout: windowsLayout(env) }));
    return 0;
  }
  if (action !== 'install' && action !== 'uninstall') throw new UsageError('service: say install, uninstall or definition');
  if (process.platform !== 'win32' && !values['dry-run']) {
    throw new UsageError('service install/uninstall is for Windows; on Linux use install.sh from the offline bundle (or add --dry-run to see the Windows steps)');
  }
  let steps;
  if (action === 'install') {
    if ((values.collector === undefined) !== (values.code === undefined)) throw new UsageError('give both --collector URL and --code CODE, or neither (to keep the current enrollment)');
    if (values.collector !== undefined && !URL.canParse(values.collector)) throw new UsageError('--collector: not a URL');
    const script = process.argv[1]!;
    // The bundle puts the wrapper beside the agent file (windows\ folder) or one level down.
    const wrapper = values.winsw ?? [join(dirname(script), WRAPPER_EXE), join(dirname(script), 'windows', WRAPPER_EXE)].find((f) => existsSync(f));
    if (!wrapper && !dryRun) throw new UsageError(`${WRAPPER_EXE} not found beside ${script}: give its path with --winsw`);
    steps = planWindowsInstall({
      env,
      nodeExe: process.execPath,
      nodeFlags: AGENT_NODE_FLAGS,
      sourceScript: script,
      sourceWrapper: wrapper ?? join(dirname(script), WRAPPER_EXE),
      ...(values.collector !== undefined && { enroll: { collector: values.collector, code: values.code! } }),
    });
    if (!values.collector && !dryRun && !existsSync(join(windowsLayout(env).dataDir, 'identity.json'))) {
      throw new UsageError('this computer is not enrolled yet: add --collector URL --code CODE');
    }
  } else {
    steps = planWindowsUninstall({ env, purge: !!values.purge });
  }
  if (dryRun) {
    console.log(steps.map((s) => `- ${describeStep(s)}`).join('\n'));
    return 0;
  }
  const ok = await runSteps(
    steps,
    {
      enroll: async (collector, code, dataDir) => {
        ensureDataDir(dataDir);
        const identity = await enroll({ dataDir, collectorUrl: collector, code });
        console.log(`  enrolled as device ${identity.deviceId} of site ${identity.site.code} (${identity.site.name})`);
      },
    },
    (line) => console.log(line),
  );
  console.log(ok ? `${action === 'install' ? 'installed and started' : 'removed'}: service ${SERVICE_ID}` : `${action} stopped at the step that failed (run as Administrator?)`);
  return ok ? 0 : 1;
}
