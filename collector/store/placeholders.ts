// Feature stores write their SQL once, with SQLite's placeholders (`?` in order, or `@name` with one object
// of values). PostgreSQL numbers its parameters ($1, $2, ...): this rewrites the text once per statement
// and maps the values, skipping quoted strings and identifiers.

export type SqlValue = string | number | bigint | null | Buffer;
/** Positional values, or one object of named values for `@name` placeholders. */
export type SqlArgs = SqlValue[] | [Record<string, SqlValue | undefined>];

interface Rewritten {
  text: string;
  /** Positional: the count of `?`. Named: the name behind each $n. */
  names: string[] | undefined;
  positional: number;
}

const cache = new Map<string, Rewritten>();

function rewrite(source: string): Rewritten {
  let text = '';
  let positional = 0;
  const names: string[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === "'" || c === '"') {
      // A quoted string or identifier, with doubled quotes inside.
      let j = i + 1;
      while (j < source.length) {
        if (source[j] === c) {
          if (source[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      text += source.slice(i, j + 1);
      i = j + 1;
    } else if (c === '?') {
      text += `$${++positional}`;
      i++;
    } else if (c === '@' && /[A-Za-z_]/.test(source[i + 1] ?? '')) {
      let j = i + 1;
      while (j < source.length && /[A-Za-z0-9_]/.test(source[j]!)) j++;
      const name = source.slice(i + 1, j);
      let index = names.indexOf(name);
      if (index < 0) index = names.push(name) - 1;
      text += `$${index + 1}`;
      i = j;
    } else {
      text += c;
      i++;
    }
  }
  if (positional > 0 && names.length > 0) throw new Error(`SQL mixes ? and @name placeholders: ${source}`);
  return { text, names: names.length > 0 ? names : undefined, positional };
}

function isNamed(args: SqlArgs): args is [Record<string, SqlValue | undefined>] {
  const first = args[0];
  return args.length === 1 && first !== null && typeof first === 'object' && !Buffer.isBuffer(first);
}

/** The statement in PostgreSQL's numbering and its values in order. */
export function toPostgres(source: string, args: SqlArgs): { text: string; values: SqlValue[] } {
  let r = cache.get(source);
  if (!r) {
    r = rewrite(source);
    if (cache.size > 2000) cache.clear(); // SQL built at run time (IN lists) must not grow this without bound
    cache.set(source, r);
  }
  if (r.names) {
    if (!isNamed(args)) throw new Error(`SQL with @name placeholders needs one object of values: ${source}`);
    const named = args[0];
    return {
      text: r.text,
      values: r.names.map((name) => {
        if (!(name in named)) throw new Error(`missing value for @${name} in: ${source}`);
        return named[name] ?? null;
      }),
    };
  }
  if (isNamed(args)) throw new Error(`SQL with ? placeholders needs positional values: ${source}`);
  if (args.length !== r.positional) throw new Error(`SQL expects ${r.positional} values, got ${args.length}: ${source}`);
  return { text: r.text, values: args as SqlValue[] };
}
