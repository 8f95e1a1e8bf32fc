import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { describeStep, type Step } from './windows.ts';

export interface StepEffects {
  enroll(collector: string, code: string, dataDir: string): Promise<void>;
  exec(file: string, args: string[]): Promise<{ code: number; output: string }>;
}

const realExec: StepEffects['exec'] = (file, args) =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: 120_000, windowsHide: true }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}${err && code === 1 && !stdout && !stderr ? err.message : ''}`.trim() });
    });
  });

/**
 * Carries out install or uninstall steps in order, printing each; stops at the first step that fails unless
 * it may fail. Returns false when one failed.
 */
export async function runSteps(steps: Step[], effects: Pick<StepEffects, 'enroll'> & Partial<StepEffects>, log: (line: string) => void): Promise<boolean> {
  const exec = effects.exec ?? realExec;
  for (const step of steps) {
    log(`- ${describeStep(step)}`);
    try {
      switch (step.kind) {
        case 'mkdir':
          mkdirSync(step.path, { recursive: true });
          break;
        case 'copy':
          if (step.optional && !existsSync(step.from)) break;
          if (step.from !== step.to) copyFileSync(step.from, step.to);
          break;
        case 'write':
          writeFileSync(step.path, step.content);
          break;
        case 'remove':
          rmSync(step.path, { recursive: true, force: true });
          break;
        case 'enroll':
          await effects.enroll(step.collector, step.code, step.dataDir);
          break;
        case 'exec': {
          const r = await exec(step.file, step.args);
          if (r.code !== 0 && !step.mayFail) {
            log(`  failed (exit ${r.code}): ${r.output.split('\n').slice(-3).join(' ')}`);
            return false;
          }
          break;
        }
      }
    } catch (err) {
      log(`  failed: ${(err as Error).message}`);
      return false;
    }
  }
  return true;
}
