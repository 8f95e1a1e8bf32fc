import { describe, expect, it } from 'vitest';
import { AGENT_BIN } from '../../test/support/processes.ts';
import { collectDeviceFacts, collectDeviceFactsInChild } from './facts.ts';
import { AGENT_VERSION } from '../version.ts';

describe('device facts', () => {
  it('reads this machine through systeminformation', async () => {
    const r = await collectDeviceFacts(() => Date.UTC(2026, 10, 24));
    expect(r).toMatchObject({ probe: 'device_facts', target: 'self', code: 'ok', measuredAt: Date.UTC(2026, 10, 24) });
    if (r.probe !== 'device_facts') throw new Error('wrong probe');
    expect(r.fields.agent_version).toBe(AGENT_VERSION);
    expect(r.fields.cpu_cores).toBeGreaterThan(0);
    expect(r.fields.mem_total_mb).toBeGreaterThan(100);
    expect(r.fields.os.length).toBeGreaterThan(0);
  });

  it('reads them in a short-lived child of the agent, so the running agent never loads systeminformation', async () => {
    const r = await collectDeviceFactsInChild(30_000, AGENT_BIN);
    expect(r.probe).toBe('device_facts');
    expect(r.code).toBe('ok');
  });

  it('fails with a reason, not a hang, when the child cannot run', async () => {
    await expect(collectDeviceFactsInChild(5_000, '/nonexistent/agent.js')).rejects.toThrow(/device facts:/);
  });
});
