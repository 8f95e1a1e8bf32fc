// The per-connection message budget on a fake clock.
import { describe, expect, it } from 'vitest';
import { ConnectionBudget } from './message-budget.ts';

describe('ConnectionBudget', () => {
  it('allows the burst, drops past it, closes after another burst of drops, and refills at the rate', () => {
    let t = 0;
    const budget = new ConnectionBudget({ messagesPerSecond: 5, messageBurst: 3, floodCooldownSeconds: 60 }, () => t);
    expect([budget.take(), budget.take(), budget.take()]).toEqual(['ok', 'ok', 'ok']);
    expect(budget.take()).toBe('drop');
    t += 200; // one message refilled
    expect(budget.take()).toBe('ok');
    expect([budget.take(), budget.take()]).toEqual(['drop', 'drop']);
    expect(budget.take()).toBe('close');
    expect(budget.closeReason()).toBe('control message budget exceeded: 5/s, burst 3');
    expect(Buffer.byteLength(budget.closeReason())).toBeLessThanOrEqual(123);
  });
});
