// What every command group of songcheck-collector shares: argument parsing checked by a zod schema, the
// two errors that decide the exit code, table output, the acting user for the audit log, and the registry
// opened for one command. `collector/cli.ts` dispatches; each feature keeps its commands in its own folder
// (`registry/cli-commands.ts`, `control/cli-commands.ts`, `guards/cli-commands.ts`, ...).
import os from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { loadRegistryConfig } from './config.ts';
import { Registry } from './registry/registry.ts';
import { formatIssues } from './validation.ts';

/** Bad usage: exit 2. */
export class UsageError extends Error {}
/** The registry or the file refused: exit 1. */
export class Refused extends Error {}

/** One command: its arguments after the command words; an exit code, or 0 when it returns nothing. */
export type CliCommand = (args: string[]) => void | number | Promise<void | number>;

export interface CliHelpers {
  parse<S extends z.ZodType>(
    args: string[],
    options: ParseArgsConfig['options'],
    schema: S,
    required?: string[],
    positionals?: number,
    precheck?: (values: Record<string, unknown>) => string | undefined,
  ): z.output<S> & { _: string[] };
  withRegistry<T>(fn: (registry: Registry) => Promise<T>): Promise<T>;
  out(line?: string): void;
  table(rows: string[][]): void;
  actor(): string;
  usage(message: string): Error;
  refused(message: string): Error;
}

function parse<S extends z.ZodType>(
  args: string[],
  options: ParseArgsConfig['options'],
  schema: S,
  required: string[] = [],
  positionals = 0,
  precheck?: (values: Record<string, unknown>) => string | undefined,
): z.output<S> & { _: string[] } {
  let values: Record<string, unknown>;
  let rest: string[];
  try {
    ({ values, positionals: rest } = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 }));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  if (rest.length > positionals) throw new UsageError(`unexpected argument "${rest[positionals]}"`);
  const missing = required.filter((k) => values[k] === undefined).map((k) => `--${k} is required`);
  if (missing.length) throw new UsageError(missing.join('; '));
  const problem = precheck?.(values);
  if (problem) throw new UsageError(problem);
  const result = schema.safeParse(values);
  if (!result.success) throw new UsageError(formatIssues(result.error).map((l) => `--${l}`).join('; '));
  return { ...(result.data as object), _: rest } as z.output<S> & { _: string[] };
}

/** Who is acting, for the audit log. */
function cliActor(): string {
  try {
    return `cli ${os.userInfo().username}`;
  } catch {
    return 'cli';
  }
}

async function withRegistry<T>(fn: (registry: Registry) => Promise<T>): Promise<T> {
  const registry = await Registry.open(loadRegistryConfig().dataDir);
  try {
    return await fn(registry);
  } finally {
    await registry.close();
  }
}

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Left-aligned columns, two spaces apart. */
function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  for (const r of rows) out(r.map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length)).join('  ').trimEnd());
}

export const CLI_HELPERS: CliHelpers = {
  parse, withRegistry, out, table, actor: cliActor,
  usage: (message) => new UsageError(message),
  refused: (message) => new Refused(message),
};
