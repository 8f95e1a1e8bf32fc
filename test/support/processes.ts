import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export { freePort } from '../../scripts/free-port.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const AGENT_BIN = `${REPO_ROOT}bin/songcheck-agent.js`;
export const COLLECTOR_BIN = `${REPO_ROOT}bin/songcheck-collector.js`;

/** Where the tests' stores are (SONGCHECK_TEST_DATABASE=postgres, test/support/database-setup.ts): kept in a clean environment. */
const STORE_VARIABLES = new Set(['SONGCHECK_DATABASE_URL', 'SONGCHECK_TEST_DATABASE']);

/**
 * This process's environment without the SONGCHECK_* settings a developer's shell may carry, so a child
 * collector or CLI sees only what the test gives it; the store variables stay, so under the PostgreSQL
 * test mode the child finds the same tables as the test.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SONGCHECK_') || STORE_VARIABLES.has(k)));
}

export interface Tracked {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first output line matching, or rejects after timeoutMs with the output so far. */
  waitForLine(match: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Spawns a node script and records its output lines; every process is killed at the end of the test file. */
export function spawnNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Tracked {
  const proc = spawn(process.execPath, [script, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  const lines: string[] = [];
  const waiters: { match: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (buf: { toString(): string }) => {
    for (const line of buf.toString().split('\n')) {
      if (!line) continue;
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  let pending = '';
  // Reassemble lines split across chunks so JSON log lines parse whole.
  const splitter = (chunk: Buffer) => {
    pending += chunk.toString();
    const cut = pending.lastIndexOf('\n');
    if (cut < 0) return;
    onData(pending.slice(0, cut));
    pending = pending.slice(cut + 1);
  };
  proc.stdout!.on('data', splitter);
  proc.stderr!.on('data', splitter);
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      if (pending) onData(pending);
      resolve(code ?? (signal ? -1 : null));
    });
  });
  return {
    proc,
    lines,
    exited,
    waitForLine(match, timeoutMs = 30_000) {
      const found = lines.find((l) => match.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${match} within ${timeoutMs} ms; output:\n${lines.slice(-30).join('\n')}`)), timeoutMs);
        waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(() => setTimeout(() => reject(new Error(`process exited before printing ${match}; output:\n${lines.slice(-30).join('\n')}`)), 50));
      });
    },
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  })));
}

/** Runs a node script to completion and returns its exit code and output. */
export async function runNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const t = spawnNode(script, args, env);
  const code = await t.exited;
  return { code, output: t.lines.join('\n') };
}

/** Polls until check() returns a value other than undefined; bounded in time. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
