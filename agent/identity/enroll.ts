import { createHash } from 'node:crypto';
import { hostname, platform, release } from 'node:os';
import { EnrollResponse, ReceivedErrorBody } from '../../protocol/api.ts';
import { postJson, type HttpResponse } from '../net/http-client.ts';
import { saveIdentity, type Identity } from './identity.ts';
import { AGENT_VERSION } from '../version.ts';
import { loadOrCreateSigningKey } from './signing-key.ts';

export class EnrollError extends Error {}

/**
 * Exchanges a site's enrollment code for this device's identity and stores it. The hardware fingerprint is
 * only a hint for the collector to flag cloned images; the identity is the id the collector hands out.
 */
export async function enroll(opts: { dataDir: string; collectorUrl: string; code: string }): Promise<Identity> {
  // The key exists before the enrollment so its public half is registered with it (docs/evidence.md).
  const key = loadOrCreateSigningKey(opts.dataDir);
  let res: HttpResponse;
  try {
    res = await postJson(
      new URL('/api/v1/enroll', opts.collectorUrl),
      JSON.stringify({
        code: opts.code,
        hostname: hostname().slice(0, 200),
        platform: `${platform()} ${release()}`.slice(0, 100),
        agentVersion: AGENT_VERSION,
        fingerprint: await hardwareFingerprint(),
        publicKey: key.publicKey,
      }),
      { signal: AbortSignal.timeout(30_000) },
    );
  } catch (err) {
    const cause = (err as { code?: string }).code ?? (err as Error).message;
    throw new EnrollError(`cannot reach the collector at ${opts.collectorUrl} (${cause}): check the URL and this computer's connection`);
  }
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  if (res.status < 200 || res.status > 299) {
    const err = ReceivedErrorBody.safeParse(body);
    throw new EnrollError(err.success ? `enrollment refused: ${err.data.error.message}` : `enrollment failed: collector answered ${res.status}`);
  }
  const parsed = EnrollResponse.safeParse(body);
  if (!parsed.success) throw new EnrollError('enrollment failed: the collector sent an answer this agent does not understand (version mismatch?)');
  const identity: Identity = {
    deviceId: parsed.data.deviceId,
    token: parsed.data.token,
    collectorUrl: opts.collectorUrl,
    site: parsed.data.site,
    enrolledAt: Date.now(),
    // A collector that predates signing ignores the key; the agent registers it later (agent.ts).
    ...(parsed.data.keyId === key.keyId ? { keyId: key.keyId } : {}),
  };
  saveIdentity(opts.dataDir, identity);
  return identity;
}

async function hardwareFingerprint(): Promise<string | undefined> {
  try {
    const { default: si } = await import('systeminformation');
    const [uuid, ifaces] = await Promise.all([si.uuid(), si.networkInterfaces()]);
    const macs = (Array.isArray(ifaces) ? ifaces : [ifaces])
      .filter((i) => !i.internal && i.mac && i.mac !== '00:00:00:00:00:00')
      .map((i) => i.mac)
      .sort();
    const material = [uuid.hardware, uuid.os, ...macs].filter(Boolean).join('|');
    return material ? createHash('sha256').update(material).digest('hex').slice(0, 32) : undefined;
  } catch {
    return undefined;
  }
}
