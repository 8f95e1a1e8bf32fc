import { describe, expect, it } from 'vitest';
import { ServiceStartError, startServices, type Service } from './lifecycle.ts';

function recorder() {
  const log: string[] = [];
  const service = (name: string, opts: { failStart?: boolean; failStop?: boolean } = {}): Service => ({
    name,
    start() {
      if (opts.failStart) throw new Error(`${name} broke`);
      log.push(`start ${name}`);
    },
    async stop() {
      await new Promise((r) => setImmediate(r));
      log.push(`stop ${name}`);
      if (opts.failStop) throw new Error(`${name} stuck`);
    },
  });
  return { log, service };
}

describe('service lifecycle', () => {
  it('starts in order and stops in reverse, once however often stop is called', async () => {
    const { log, service } = recorder();
    const running = startServices([service('queue'), service('uploader'), service('scheduler')], () => {});
    await Promise.all([running.stop(), running.stop()]);
    await running.stop();
    expect(log).toEqual(['start queue', 'start uploader', 'start scheduler', 'stop scheduler', 'stop uploader', 'stop queue']);
  });

  it('reports a failing stop and still stops the rest', async () => {
    const { log, service } = recorder();
    const failed: string[] = [];
    const running = startServices([service('queue'), service('uploader', { failStop: true }), service('scheduler')], (name, err) => failed.push(`${name}: ${(err as Error).message}`));
    await running.stop();
    expect(log).toEqual(['start queue', 'start uploader', 'start scheduler', 'stop scheduler', 'stop uploader', 'stop queue']);
    expect(failed).toEqual(['uploader: uploader stuck']);
  });

  it('stops what had started when a later service cannot start', async () => {
    const { log, service } = recorder();
    let thrown: unknown;
    try {
      startServices([service('queue'), service('uploader'), service('scheduler', { failStart: true }), service('never')], () => {});
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ServiceStartError);
    expect((thrown as ServiceStartError).message).toBe('scheduler could not start: scheduler broke');
    await (thrown as ServiceStartError).stopped;
    expect(log).toEqual(['start queue', 'start uploader', 'stop uploader', 'stop queue']);
  });
});
