// songcheck-collector: run the server, and manage the registry (sites, enrollment codes, devices) on this machine.
// Each command loads only the configuration it needs: registry commands work without InfluxDB settings.
// Exit codes: 0 done, 1 refused (e.g. site exists), 2 bad usage or configuration.
import { z } from 'zod';
import { CLI_HELPERS, type CliCommand, Refused, UsageError } from './command-line.ts';
import { CONTROL_HELP, controlCommands } from './control/cli-commands.ts';
import { GUARDS_HELP, guardCommands } from './guards/cli-commands.ts';
import { DATABASE_HELP, databaseCommands } from './database-cli.ts';
import { ALERTS_HELP, alertsCommand } from './alerts/cli.ts';
import { COMPLIANCE_HELP } from './compliance/cli-help.ts';
import { EVIDENCE_HELP } from './evidence/cli-help.ts';
import { ConfigError } from './config-error.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { AUDIT_HELP, REGISTRY_HELP, registryCommands } from './registry/cli-commands.ts';
import { RegistryError } from './registry/registry.ts';
import { closeOnSignals, startCollector } from './server.ts';
import { isWorker, runPrimary, workerSignals } from './workers.ts';

const HELP = `songcheck-collector <command> [options]

Commands:
  serve                      run the collector (configured by SONGCHECK_* environment variables)

${REGISTRY_HELP}

${CONTROL_HELP}

${GUARDS_HELP}

${AUDIT_HELP}
${COMPLIANCE_HELP}
${EVIDENCE_HELP}


${ALERTS_HELP}

${DATABASE_HELP}
  help                       show this text

Registry commands use SONGCHECK_DATA_DIR (default ./.data/collector), or SONGCHECK_DATABASE_URL when set, and
work while serve runs.`;

async function serveCommand(args: string[]): Promise<void> {
  CLI_HELPERS.parse(args, {}, z.object({}));
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  if (config.workers > 1 && !isWorker()) return runPrimary(config.workers, config.dataDir, logger);
  const collector = await startCollector(config, { logger });
  closeOnSignals(collector, logger, isWorker() ? workerSignals() : undefined);
}

const COMMANDS: Record<string, CliCommand> = {
  // Sites, enrollment codes, devices, audit log (collector/registry/cli-commands.ts).
  ...registryCommands(CLI_HELPERS),
  // Remote configuration and commands (collector/control/cli-commands.ts).
  ...controlCommands(CLI_HELPERS),
  // Dead-letter store and flagged devices (collector/guards/cli-commands.ts).
  ...guardCommands(CLI_HELPERS),
  // Migrations and the SQLite-to-PostgreSQL copy (collector/database-cli.ts).
  ...databaseCommands(CLI_HELPERS),
  // Loaded only when used: the other commands start faster without the engine, reports and schemas.
  'compliance run': async (args) => (await import('./compliance/cli.ts')).complianceRunCommand(args),
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const sub = COMMANDS[`${command} ${rest[0]}`];
    const single = command === undefined ? undefined : COMMANDS[command];
    if (command === 'serve') await serveCommand(rest);
    else if (sub) return (await sub(rest.slice(1))) ?? 0;
    else if (single) return (await single(rest)) ?? 0;
    else if (command === 'report') return await (await import('./compliance/cli.ts')).reportCommand(rest);
    else if (command === 'evidence') return await (await import('./evidence/cli.ts')).evidenceCommand(rest);
    else if (command === 'alerts') return await alertsCommand(rest, { out: CLI_HELPERS.out, err: (line) => process.stderr.write(`${line}\n`) });
    else if (command === undefined || command === 'help' || command === '--help' || command === '-h') CLI_HELPERS.out(HELP);
    else throw new UsageError(`unknown command "${argv.join(' ')}"; run "songcheck-collector help"`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`songcheck-collector: ${error.message}\n`);
      return 2;
    }
    if (error instanceof Refused) {
      process.stderr.write(`songcheck-collector: ${error.message}\n`);
      return 1;
    }
    if (error instanceof RegistryError) {
      process.stderr.write(`songcheck-collector: ${error.message}\n`);
      return error.code === 'invalid_site' || error.code === 'invalid_argument' ? 2 : 1;
    }
    throw error;
  }
}

const code = await main(process.argv.slice(2));
// `serve` keeps running on its open server; everything else exits with its code.
if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
