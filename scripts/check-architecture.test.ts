import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkArchitecture } from './check-architecture.ts';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

/** A throw-away repository with these files. */
function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'songcheck-arch-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const CLEAN = {
  'protocol/schema.ts': "import { z } from 'zod';\nexport const S = z.string();\n",
  'agent/cli.ts': "import { S } from '../protocol/schema.ts';\nimport { probe } from './probe.ts';\nconsole.log(S, probe);\n",
  'agent/probe.ts': 'export const probe = 1;\n',
  'agent/probe.test.ts': "import { probe } from './probe.ts';\nimport { helper } from '../test/support/helper.ts';\nconsole.log(probe, helper);\n",
  'test/support/helper.ts': "import { probe } from '../../agent/probe.ts';\nexport const helper = probe;\n",
  'collector/cli.ts': "import { S } from '../protocol/schema.ts';\nawait import('./server.ts');\nconsole.log(S);\n",
  'collector/server.ts': 'export {};\n',
};

describe('architecture check', () => {
  it('passes a tree that keeps the boundaries (tests may import both sides)', () => {
    expect(checkArchitecture(tree(CLEAN), []).problems).toEqual([]);
  });

  it('fails when the collector imports the agent, and says what the collector process can load', () => {
    const { problems } = checkArchitecture(tree({ ...CLEAN, 'collector/server.ts': "import { probe } from '../agent/probe.ts';\nexport const p = probe;\n" }), []);
    expect(problems).toEqual([
      'collector/server.ts imports agent/probe.ts: collector/ must not import agent/ (share it through protocol/, see docs/architecture.md)',
      'the collector process can load agent/probe.ts (reachable from bin/songcheck-collector.js, collector/cli.ts, collector/server.ts)',
    ]);
  });

  it('fails when the agent imports the collector, or protocol/ either side (type-only imports too)', () => {
    const { problems } = checkArchitecture(
      tree({ ...CLEAN, 'agent/probe.ts': "import type { X } from '../collector/server.ts';\nexport const probe = 1 as unknown as X;\n", 'protocol/schema.ts': "export { probe as S } from '../agent/probe.ts';\n" }),
      [],
    );
    expect(problems.filter((p) => / imports /.test(p))).toEqual([
      'agent/probe.ts imports collector/server.ts: agent/ must not import collector/ (share it through protocol/, see docs/architecture.md)',
      'protocol/schema.ts imports agent/probe.ts: protocol/ must not import agent/ (share it through protocol/, see docs/architecture.md)',
    ]);
  });

  it('fails on an import circle, type-only included, unless it lies inside a listed known circle', () => {
    const files = { ...CLEAN, 'collector/a.ts': "import type { B } from './b.ts';\nexport type A = B;\n", 'collector/b.ts': "import type { A } from './a.ts';\nexport type B = string | A[];\n" };
    expect(checkArchitecture(tree(files), []).problems).toEqual(['import circle among collector/a.ts, collector/b.ts (move what both need into a third module)']);
    expect(checkArchitecture(root!, [['collector/a.ts', 'collector/b.ts', 'collector/c.ts']]).problems).toEqual([]);
    expect(checkArchitecture(root!, [['collector/a.ts']]).problems).toHaveLength(1);
  });

  it('fails when the agent build would bundle test code, or an import names a missing file', () => {
    const { problems } = checkArchitecture(tree({ ...CLEAN, 'agent/cli.ts': "import { helper } from '../test/support/helper.ts';\nimport './gone.ts';\nconsole.log(helper);\n" }), []);
    expect(problems).toEqual(['agent/cli.ts imports ./gone.ts, which does not exist', 'the agent build would bundle test code test/support/helper.ts (reachable from agent/cli.ts)']);
  });

  it('fails when one probe imports another probe folder, not when it imports a shared probe helper or folder', () => {
    const files = {
      ...CLEAN,
      'agent/probes/registry.ts': "import { g } from './gateway/index.ts';\nimport { b } from './throughput/busy.ts';\nexport const all = [g, b];\n",
      'agent/probes/result.ts': 'export const ok = 1;\n',
      'agent/probes/lan/look.ts': 'export const look = 1;\n',
      'agent/probes/gateway/route.ts': 'export const route = 1;\n',
      'agent/probes/gateway/index.ts': "import { ok } from '../result.ts';\nimport { look } from '../lan/look.ts';\nimport { route } from './route.ts';\nexport const g = ok + look + route;\n",
      'agent/probes/throughput/busy.ts': "import { ok } from '../result.ts';\nimport { route } from '../gateway/route.ts';\nexport const b = ok + route;\n",
    };
    expect(checkArchitecture(tree(files), []).problems).toEqual([
      "agent/probes/throughput/busy.ts imports agent/probes/gateway/route.ts: one probe does not import another's folder (move what both need to agent/probes/ or agent/net/, see docs/architecture.md)",
    ]);
  });

  it('fails when an infrastructure room imports a feature room, not when it imports its listed rooms or root files', () => {
    const files = {
      ...CLEAN,
      'collector/config.ts': 'export const c = 1;\n',
      'collector/registry/site.ts': 'export type Site = { code: string };\n',
      'collector/alerts/rule.ts': 'export const rule = 1;\n',
      'collector/school/time.ts': "import type { Site } from '../registry/site.ts';\nimport { c } from '../config.ts';\nexport const t = (s: Site) => s.code + c;\n",
      'collector/store/store.ts': "import { rule } from '../alerts/rule.ts';\nexport const s = rule;\n",
    };
    expect(checkArchitecture(tree(files), []).problems).toEqual([
      'collector/store/store.ts imports collector/alerts/rule.ts: collector/store/ is infrastructure and may import only itself of collector/ (see docs/architecture.md)',
    ]);
  });

  it('fails when one feature room of the agent imports another, unless the edge is listed', () => {
    const files = {
      ...CLEAN,
      'agent/queue/queue.ts': 'export const q = 1;\n',
      'agent/upload/uploader.ts': "import { q } from '../queue/queue.ts';\nexport const u = q;\n",
      'agent/schedule/scheduler.ts': "import { u } from '../upload/uploader.ts';\nexport const s = u;\n",
    };
    expect(checkArchitecture(tree(files), []).problems).toEqual([
      "agent/schedule/scheduler.ts imports agent/upload/uploader.ts: the agent's feature rooms do not import each other (agent/schedule/ → agent/upload/ is not a listed edge; move what both need to agent/platform/ or agent/net/, see docs/architecture.md)",
    ]);
  });

  it('fails when a collector file runs a job on its own setInterval instead of periodic()', () => {
    const files = {
      ...CLEAN,
      'collector/periodic.ts': 'export const periodic = (fn: () => void) => setInterval(fn, 1000);\n',
      'collector/sweep.ts': "import { periodic } from './periodic.ts';\nexport const a = periodic(() => {});\nexport const b = setInterval(() => {}, 1000);\n",
    };
    expect(checkArchitecture(tree(files), []).problems).toEqual([
      'collector/sweep.ts calls setInterval: run the job with periodic() from collector/periodic.ts (logged, counted in /healthz, optional lease)',
    ]);
  });
});
