// The boundaries of docs/architecture.md, checked on the import graph so that a change breaking one fails
// `npm test` (and so CI). Run by hand: `npx tsx scripts/check-architecture.ts`.
//
// 1. collector/ never imports agent/, agent/ never imports collector/, protocol/ imports neither: the agent
//    ships alone to school PCs and the collector knows agents only through protocol/.
// 2. No import circle anywhere, `import type` included: erased at run time, it still ties two modules so
//    that neither can be read, tested or moved without the other.
// 3. What the collector process can load: every file reachable from the collector's entry points, dynamic
//    import() included, is outside agent/; so the collector never loads a probe implementation.
// 4. What the agent build bundles: nothing reachable from agent/cli.ts is a test, a test helper or collector code.
// 5. A probe is one folder: nothing in a probe's folder (agent/probes/<name>/, a folder agent/probes/registry.ts
//    imports) imports another probe's folder. What probes share goes to agent/probes/ itself (probe helpers,
//    agent/probes/lan/) or to an infrastructure room (agent/net/, agent/platform/).
// 6. Infrastructure knows no feature: a file in an infrastructure room (INFRASTRUCTURE below) imports only its
//    own room, the rooms listed for it, and the side's root files (config, validation, version ...).
// 7. The agent's feature rooms do not import each other, but for the few edges AGENT_FEATURE_EDGES lists.
// 8. The collector's jobs run on collector/periodic.ts: no other collector file calls setInterval, but the
//    per-connection samplers listed in OWN_TIMERS.
//
// Imports are read from TypeScript's own parse of each file (static imports, re-exports, import() of a
// literal), not with regular expressions; only relative specifiers matter, packages are outside the graph.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const ROOTS = ['agent', 'collector', 'protocol', 'scripts', 'bench', 'dashboards', 'test', 'bin'];
const COLLECTOR_ENTRIES = ['bin/songcheck-collector.js', 'collector/cli.ts', 'collector/server.ts'];
const AGENT_ENTRIES = ['bin/songcheck-agent.js', 'agent/cli.ts'];

/** Which room may not import which: a file under the key must not import a file under any listed folder. */
const FORBIDDEN: Readonly<Record<string, readonly string[]>> = {
  'collector/': ['agent/'],
  'agent/': ['collector/'],
  'protocol/': ['agent/', 'collector/'],
};

/**
 * Infrastructure rooms and the other rooms (folders) each may import. The registry is the collector's one
 * shared feature: who a device is (auth/, the HTTP env type) and which site it measures (school/).
 */
const INFRASTRUCTURE: Readonly<Record<string, readonly string[]>> = {
  'collector/store/': [],
  'collector/influx/': [],
  'collector/http/': ['collector/registry/'],
  'collector/school/': ['collector/registry/'],
  'collector/auth/': ['collector/http/', 'collector/registry/'],
  'agent/platform/': [],
  'agent/net/': ['agent/platform/'],
};

/**
 * The only imports from one feature room of the agent into another (docs/architecture.md, "Arrows inside
 * the agent"); `commands/` is the command line and may use any room. A new edge is a design decision: add
 * it here and to the page, or move what both need into platform/ or net/.
 */
const AGENT_FEATURE_EDGES: Readonly<Record<string, readonly string[]>> = {
  'agent/uptime/': ['agent/probes/'],
  'agent/upload/': ['agent/queue/'],
  'agent/control/': ['agent/identity/'],
};
const AGENT_FEATURE_ROOMS = ['probes', 'queue', 'upload', 'schedule', 'uptime', 'device', 'identity', 'status', 'control', 'service'].map((r) => `agent/${r}/`);

/**
 * Collector files that may call setInterval themselves: periodic() itself, and samplers that live and die
 * with one connection or test and cannot fail (docs/architecture.md, "Lifecycle of the collector").
 */
const OWN_TIMERS = ['collector/periodic.ts', 'collector/throughput/http-streams.ts', 'collector/throughput/transfer-floor.ts', 'collector/throughput/server-state.ts'];

function callsSetInterval(file: string): boolean {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  let found = false;
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'setInterval') found = true;
    if (!found) ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * Known circles, each listed as its files. Empty: the collector's three circles of issue 13 are broken. A
 * circle passes only when its files are all inside one of these sets. Do not add to this list: break the
 * circle instead.
 */
export const KNOWN_CIRCLES: readonly (readonly string[])[] = [];

export type Graph = Map<string, string[]>;

interface Import {
  specifier: string;
  /** Erased at run time: `import type`, `export type`, an import whose every name is `type`, `import('x').T`. */
  typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const found: Import[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      let typeOnly = false;
      if (ts.isImportDeclaration(node)) {
        const clause = node.importClause;
        const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
        typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      } else {
        const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
        typeOnly = node.isTypeOnly || (!!named && named.length > 0 && named.every((e) => e.isTypeOnly));
      }
      found.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      found.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
    }
  };
  for (const top of ROOTS) if (existsSync(join(root, top))) walk(join(root, top));
  return out;
}

function resolveSpecifier(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/**
 * The import graph of the repository's own files, as repository-relative paths with forward slashes: `all`
 * with every import, `runtime` without the type-only ones.
 */
export function importGraph(root: string): { all: Graph; runtime: Graph; unresolved: string[] } {
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  const all: Graph = new Map();
  const runtime: Graph = new Map();
  const unresolved: string[] = [];
  for (const file of sourceFiles(root)) {
    const every = new Set<string>();
    const loaded = new Set<string>();
    for (const { specifier, typeOnly } of importsOf(file)) {
      if (!specifier.startsWith('.')) continue;
      const target = resolveSpecifier(file, specifier);
      if (target === undefined) {
        unresolved.push(`${rel(file)} imports ${specifier}, which does not exist`);
        continue;
      }
      every.add(rel(target));
      if (!typeOnly) loaded.add(rel(target));
    }
    all.set(rel(file), [...every]);
    runtime.set(rel(file), [...loaded]);
  }
  return { all, runtime, unresolved };
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function circles(graph: Graph): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  // Iterative, so a long import chain cannot overflow the call stack.
  for (const start of graph.keys()) {
    if (indexOf.has(start)) continue;
    const work: [string, number][] = [[start, 0]];
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [node, next] = frame;
      if (next === 0) {
        indexOf.set(node, index);
        low.set(node, index);
        index++;
        stack.push(node);
        onStack.add(node);
      }
      const edges = graph.get(node) ?? [];
      if (next < edges.length) {
        frame[1]++;
        const to = edges[next]!;
        if (!indexOf.has(to)) work.push([to, 0]);
        else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, indexOf.get(to)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]![0];
        low.set(parent, Math.min(low.get(parent)!, low.get(node)!));
      }
      if (low.get(node) === indexOf.get(node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== node);
        if (component.length > 1 || edges.includes(node)) found.push(component.sort());
      }
    }
  }
  return found;
}

/** Every file reachable from the entries, dynamic imports included. */
export function reachable(graph: Graph, entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = entries.filter((e) => graph.has(e));
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    todo.push(...(graph.get(file) ?? []));
  }
  return seen;
}

const PROBE_REGISTRY = 'agent/probes/registry.ts';

/**
 * `agent/probes/<name>/...` → `<name>` when `<name>` is a probe, that is a folder the probe registry imports;
 * undefined elsewhere (agent/probes/lan/ holds helpers several probes share and is no probe).
 */
function probeFolderOf(graph: Graph): (file: string) => string | undefined {
  const folder = (file: string) => /^agent\/probes\/([^/]+)\//.exec(file)?.[1];
  const probes = new Set((graph.get(PROBE_REGISTRY) ?? []).map(folder).filter((name) => name !== undefined));
  return (file) => {
    const name = folder(file);
    return name !== undefined && probes.has(name) ? name : undefined;
  };
}

const isTestCode = (f: string) => f.startsWith('test/') || /\.test(-support)?\.ts$/.test(f);

/** Every broken rule, as a line a person can act on; empty when the architecture holds. */
export function checkArchitecture(root: string, knownCircles: readonly (readonly string[])[] = KNOWN_CIRCLES): { problems: string[]; collectorModules: number; agentModules: number } {
  const { all, runtime, unresolved } = importGraph(root);
  const problems = [...unresolved];
  for (const [file, targets] of all) {
    for (const [room, forbidden] of Object.entries(FORBIDDEN)) {
      if (!file.startsWith(room)) continue;
      for (const target of targets) {
        const bad = forbidden.find((f) => target.startsWith(f));
        if (bad) problems.push(`${file} imports ${target}: ${room} must not import ${bad} (share it through protocol/, see docs/architecture.md)`);
      }
    }
  }
  for (const [file, targets] of all) {
    const infra = Object.keys(INFRASTRUCTURE).find((room) => file.startsWith(room));
    if (infra === undefined || isTestCode(file)) continue;
    const allowed = [infra, ...INFRASTRUCTURE[infra]!];
    const side = infra.slice(0, infra.indexOf('/') + 1);
    for (const target of targets) {
      // Only rooms (folders) of the same side; its root files and protocol/ are always allowed.
      if (!target.startsWith(side) || !target.slice(side.length).includes('/')) continue;
      if (!allowed.some((room) => target.startsWith(room))) {
        problems.push(`${file} imports ${target}: ${infra} is infrastructure and may import only ${allowed.slice(1).join(', ') || 'itself'} of ${side} (see docs/architecture.md)`);
      }
    }
  }
  for (const [file, targets] of all) {
    const from = AGENT_FEATURE_ROOMS.find((room) => file.startsWith(room));
    if (from === undefined || isTestCode(file)) continue;
    for (const target of targets) {
      const to = AGENT_FEATURE_ROOMS.find((room) => target.startsWith(room));
      if (to !== undefined && to !== from && !(AGENT_FEATURE_EDGES[from] ?? []).includes(to)) {
        problems.push(`${file} imports ${target}: the agent's feature rooms do not import each other (${from} → ${to} is not a listed edge; move what both need to agent/platform/ or agent/net/, see docs/architecture.md)`);
      }
    }
  }
  for (const file of all.keys()) {
    if (!file.startsWith('collector/') || isTestCode(file) || OWN_TIMERS.includes(file)) continue;
    if (callsSetInterval(join(root, file))) problems.push(`${file} calls setInterval: run the job with periodic() from collector/periodic.ts (logged, counted in /healthz, optional lease)`);
  }
  const probeFolder = probeFolderOf(all);
  for (const [file, targets] of all) {
    const probe = probeFolder(file);
    if (probe === undefined) continue;
    for (const target of targets) {
      const other = probeFolder(target);
      if (other !== undefined && other !== probe) {
        problems.push(`${file} imports ${target}: one probe does not import another's folder (move what both need to agent/probes/ or agent/net/, see docs/architecture.md)`);
      }
    }
  }
  for (const circle of circles(all)) {
    if (!knownCircles.some((known) => circle.every((f) => known.includes(f)))) problems.push(`import circle among ${circle.join(', ')} (move what both need into a third module)`);
  }
  const collector = reachable(runtime, COLLECTOR_ENTRIES);
  for (const file of collector) if (file.startsWith('agent/')) problems.push(`the collector process can load ${file} (reachable from ${COLLECTOR_ENTRIES.join(', ')})`);
  const agent = reachable(runtime, AGENT_ENTRIES);
  for (const file of agent) {
    if (file.startsWith('collector/')) problems.push(`the agent can load ${file} (reachable from ${AGENT_ENTRIES.join(', ')})`);
    if (isTestCode(file)) problems.push(`the agent build would bundle test code ${file} (reachable from agent/cli.ts)`);
  }
  return { problems, collectorModules: collector.size, agentModules: agent.size };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
  const { problems, collectorModules, agentModules } = checkArchitecture(root);
  if (problems.length > 0) {
    console.error(`architecture check: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`architecture check: boundaries hold, no new import circle (known circles still allowed: ${KNOWN_CIRCLES.length}); the collector can load ${collectorModules} modules, none under agent/; the agent ${agentModules}, none under collector/ or test code`);
}
