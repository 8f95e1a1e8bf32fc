// The calendar and the profiles are YAML files the province edits by hand: both are read, parsed and checked
// the same way, and every mistake is reported with the file and the path inside it.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

/** Parses YAML text and checks it with `schema`; `fail` builds the error thrown, with one line per problem. */
export function parseYamlWith<S extends z.ZodType>(text: string, schema: S, source: string, what: string, fail: (message: string) => Error): z.output<S> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw fail(`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw fail(`${source}: invalid ${what}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Reads a file for parseYamlWith; an unreadable file is reported like a bad one. */
export function readTextFile(path: string, what: string, fail: (message: string) => Error): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw fail(`${path}: cannot read the ${what}: ${(err as Error).message}`);
  }
}
