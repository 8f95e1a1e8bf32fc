// Does what Grafana's InfluxQL data source does to a raw query before sending it: substitutes the time macros
// and the template variables (regex-formatted, as Grafana formats a variable inside /.../). Used by the query
// tests and the bench to run every panel's query exactly as Grafana would; the panels use no other macro.

export interface VariableValue {
  /** Selected values; `all: true` = "All" (the variable's allValue, or every value when it has none). */
  values: string[];
  all?: boolean;
  allValue?: string;
}

export interface RenderContext {
  fromMs: number;
  toMs: number;
  /** Grafana's $__interval: the range divided by the panel's max data points, at least the panel's interval. */
  intervalMs: number;
  variables: Record<string, VariableValue>;
}

const MACROS = ['$__timeFilter', '$timeFilter', '$__interval_ms', '$__interval', '$interval', '$__from', '$__to'];

/** Grafana's interval rounding: a readable InfluxQL duration (ms, s, m, h, d). */
export function formatInterval(ms: number): string {
  const units: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.max(1, Math.round(ms))}ms`;
}

/** As Grafana's regex formatting: escape, and several values become (a|b). */
function regexFormat(v: VariableValue): string {
  if (v.all && v.allValue !== undefined) return v.allValue;
  const escaped = v.values.map((s) => s.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&'));
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

export function renderQuery(query: string, ctx: RenderContext): string {
  const timeFilter = `time >= ${Math.floor(ctx.fromMs)}ms and time <= ${Math.floor(ctx.toMs)}ms`;
  const interval = formatInterval(ctx.intervalMs);
  const replacements: Record<string, string> = {
    $__timeFilter: timeFilter,
    $timeFilter: timeFilter,
    $__interval_ms: String(ctx.intervalMs),
    $__interval: interval,
    $interval: interval,
    $__from: String(Math.floor(ctx.fromMs)),
    $__to: String(Math.floor(ctx.toMs)),
  };
  let out = query;
  for (const macro of MACROS) out = out.split(macro).join(replacements[macro]!);
  // Longest names first, so $site does not eat the start of $site_code.
  const names = Object.keys(ctx.variables).sort((a, b) => b.length - a.length);
  for (const name of names) {
    const value = regexFormat(ctx.variables[name]!);
    out = out.replace(new RegExp(`\\$\\{${name}(?::regex)?\\}|\\$${name}(?![A-Za-z0-9_])`, 'g'), () => value);
  }
  // A `$` that ends a regex (`/^x$/`) is followed by `/`; one followed by a name is an unknown variable.
  const left = /\$(?:__)?[A-Za-z_]\w*/.exec(out);
  if (left) throw new Error(`query still has ${left[0]} after substitution: ${out}`);
  return out;
}

/** Grafana's $__interval for a range and panel: range / maxDataPoints, rounded, at least minIntervalMs. */
export function grafanaInterval(rangeMs: number, opts: { maxDataPoints?: number; minIntervalMs?: number } = {}): number {
  const raw = rangeMs / (opts.maxDataPoints ?? 1000);
  const steps = [1000, 5000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000];
  const rounded = steps.find((s) => s >= raw) ?? 86_400_000;
  return Math.max(rounded, opts.minIntervalMs ?? 0);
}
