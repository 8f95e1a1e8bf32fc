import { describe, expect, it } from 'vitest';
import { render } from './templates.ts';

describe('alert messages', () => {
  it('say the time in the school calendar zone (UTC+7 by default)', () => {
    const at = Date.UTC(2026, 10, 24, 4, 0);
    const message = { kind: 'digest' as const, at, sites: [], lines: [] };
    expect(render(message, 'en', 'http://grafana').text).toContain('2026-11-24 11:00 (UTC+7)');
    expect(render(message, 'vi', 'http://grafana', 'Asia/Kolkata').subject).toContain('2026-11-24');
    expect(render(message, 'en', 'http://grafana', 'Asia/Kolkata').text).toContain('2026-11-24 09:30 (UTC+5:30)');
  });
});
