import { describe, expect, it } from 'vitest';
import { once, Services } from './lifecycle.ts';
import { createLogger } from './logger.ts';

function recorder() {
  const lines: string[] = [];
  const logger = createLogger('debug', { write: (l: string) => void lines.push(l) });
  return { lines, logger };
}

describe('Services', () => {
  it('stops in reverse start order, once, and a failing stop does not keep the others from stopping', async () => {
    const { lines, logger } = recorder();
    const services = new Services(logger);
    const order: string[] = [];
    const store = await services.start('store', () => ({ open: true }), (s) => {
      s.open = false;
      order.push('store');
    });
    await services.start('feature', async () => 'f', () => {
      order.push('feature');
      throw new Error('disk gone');
    });
    await services.start('no stop', () => 1);
    await services.start('server', () => 's', async () => {
      expect(store.open).toBe(true);
      order.push('server');
    });
    await Promise.all([services.stop(), services.stop()]);
    expect(order).toEqual(['server', 'feature', 'store']);
    expect(store.open).toBe(false);
    expect(lines.map((l) => JSON.parse(l) as { msg: string; service: string }).filter((l) => l.msg.includes('shutdown failed'))).toEqual([
      expect.objectContaining({ service: 'feature', msg: 'feature: shutdown failed' }),
    ]);
    await expect(services.start('late', () => 1)).rejects.toThrow('late cannot start: the collector is stopping');
  });

  it('a service that cannot start stops those started before it, and its error is thrown on', async () => {
    const services = new Services(recorder().logger);
    const order: string[] = [];
    await services.start('store', () => undefined, () => order.push('store'));
    await services.start('throughput', () => undefined, () => order.push('throughput'));
    await expect(services.start('alerts', () => Promise.reject(new Error('bad alerts file')), () => order.push('alerts'))).rejects.toThrow('bad alerts file');
    expect(order).toEqual(['throughput', 'store']);
  });
});

describe('once', () => {
  it('runs the function once: a stop begun early and awaited later is the same stop', async () => {
    let runs = 0;
    const stop = once(async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 10));
    });
    const early = stop();
    const later = stop();
    expect(later).toBe(early);
    await later;
    expect(runs).toBe(1);
  });
});
