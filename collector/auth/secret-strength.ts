// Is a secret the collector trusts (the admin token, the reporting token, the test-token key) one a machine
// generated, or one a person typed? The collector refuses to start with the second kind: `.env.example`'s
// placeholders, `changeme`, `'a'.repeat(16)`, `test-admin-token-0123456789`. The checks are for generated
// secrets, not passwords (a password estimator such as zxcvbn scores human choices and ships megabytes of
// dictionaries; what matters here is only "was this generated"):
//   - at least MIN_SECRET_LENGTH characters (`openssl rand -hex 16` is 32 characters, 128 bits);
//   - no placeholder word (changeme, example, password, ...) anywhere in it;
//   - at least MIN_DISTINCT_CHARACTERS different characters;
//   - once common words (admin, token, test, ...), separators, runs (aaa) and sequences (123, abc) are
//     taken out, at least MIN_SECRET_LENGTH / 2 characters are left.
// A random hex or base64 secret of the minimum length passes all four with certainty for practical purposes
// (secret-strength.test.ts draws thousands); each message ends with the command that makes a good one.

export const MIN_SECRET_LENGTH = 32;
export const MIN_DISTINCT_CHARACTERS = 8;
export const GENERATE_SECRET = 'generate one with `openssl rand -hex 32`';

/** Contained anywhere (case and separators ignored), these mark a value written by a person. */
const PLACEHOLDER_WORDS = ['changeme', 'changethis', 'placeholder', 'example', 'replaceme', 'password', 'secret', 'insecure', 'notforproduction', 'default', 'yourtoken', 'fillme'];
/** Taken out before counting what is left; on their own they carry no secret. */
const COMMON_WORDS = ['songcheck', 'collector', 'admin', 'token', 'report', 'reader', 'test', 'demo', 'bench', 'lab', 'key', 'dev', 'local', 'prod', 'production', 'console', 'browser', 'evidence', 'ndt7', 'not', 'for', 'the'];

/** Why `value` is not a generated secret, or undefined when it looks like one. */
export function secretWeakness(value: string): string | undefined {
  const normalized = value.toLowerCase().replace(/[^a-z0-9]/g, '');
  const placeholder = PLACEHOLDER_WORDS.find((w) => normalized.includes(w));
  if (placeholder) return `is a placeholder (it contains "${placeholder}")`;
  if (value.length < MIN_SECRET_LENGTH) return `is too short (${value.length} characters; at least ${MIN_SECRET_LENGTH})`;
  const distinct = new Set(value).size;
  if (distinct < MIN_DISTINCT_CHARACTERS) return `has too few distinct characters (${distinct}; at least ${MIN_DISTINCT_CHARACTERS})`;
  const left = withoutPatterns(value);
  if (left.length < MIN_SECRET_LENGTH / 2) return `is made of words, runs and sequences (only ${left.length} other characters)`;
  return undefined;
}

/** What is left of `value` once common words, separators, runs and sequences of 3 or more are taken out. */
function withoutPatterns(value: string): string {
  let rest = value.toLowerCase();
  for (const word of COMMON_WORDS) rest = rest.split(word).join(' ');
  const chars = [...rest];
  const drop = new Array<boolean>(chars.length).fill(false);
  // A stretch where each character steps from the last by the same amount (-1, 0 or +1): aaa, 123, cba.
  for (let i = 0; i + 2 < chars.length; i++) {
    const a = chars[i]!.charCodeAt(0);
    const b = chars[i + 1]!.charCodeAt(0);
    const c = chars[i + 2]!.charCodeAt(0);
    if (Math.abs(b - a) <= 1 && c - b === b - a) drop[i] = drop[i + 1] = drop[i + 2] = true;
  }
  return chars.filter((ch, i) => !drop[i] && !/[\s\-_.:/@+=]/.test(ch)).join('');
}

/** One line per weak secret, `NAME: reason; generate one with …`, for ConfigError. Absent ones are skipped. */
export function weakSecretProblems(secrets: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    if (value === undefined || value === '') continue;
    const weakness = secretWeakness(value);
    if (weakness) problems.push(`${name}: ${weakness}; ${GENERATE_SECRET}`);
  }
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(secrets)) {
    if (value === undefined || value === '') continue;
    const other = seen.get(value);
    if (other) problems.push(`${name}: must differ from ${other} (each secret has its own job); ${GENERATE_SECRET}`);
    else seen.set(value, name);
  }
  return problems;
}
