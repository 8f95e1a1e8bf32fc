// Turns zod issues into short reasons a person can act on (`fields.loss_pct: must be <= 100`), for the
// API's rejection reasons and the CLI's error lines. zod's own messages are generic and type-oriented.
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function bound(issue: { origin: string; inclusive?: boolean }, op: '<' | '>', limit: number | bigint): string {
  const n = Number(limit);
  switch (issue.origin) {
    case 'string':
      return `must be at ${op === '<' ? 'most' : 'least'} ${plural(n, 'character')}`;
    case 'array':
    case 'set':
      return `must have at ${op === '<' ? 'most' : 'least'} ${plural(n, 'item')}`;
    default:
      return `must be ${op}${issue.inclusive === false ? '' : '='} ${n}`;
  }
}

function reason(issue: Issue): string {
  switch (issue.code) {
    case 'too_big':
      return bound(issue, '<', issue.maximum);
    case 'too_small':
      return bound(issue, '>', issue.minimum);
    case 'invalid_type':
      if (issue.message.endsWith('received undefined')) return 'required';
      if (issue.expected === 'int') return 'must be an integer';
      return `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_union':
      if ('options' in issue && Array.isArray(issue.options)) return `must be one of ${issue.options.join(', ')}`;
      return issue.message;
    default:
      return issue.message;
  }
}

/** One line per issue: `path: reason`, or just the reason for the value as a whole. */
export function formatIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return error.issues.map((issue) => {
    const where = formatPath([...prefix, ...issue.path]);
    return where ? `${where}: ${reason(issue)}` : reason(issue);
  });
}

export function formatIssuesLine(error: z.ZodError, prefix: readonly PropertyKey[] = []): string {
  return formatIssues(error, prefix).join('; ');
}
