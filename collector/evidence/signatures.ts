// Checks the signatures of a batch before anything is stored (docs/evidence.md "Delivery"):
//   - a signed result must be canonical JSON naming this device and verify with its registered key; one
//     that does not is refused with the reason (the result itself is at fault), counted and alerted;
//   - a signature with a key this device has not registered, or an unsigned result from an agent that
//     signs, refuses the whole batch (409): that is the device's state, not the results' fault, so the
//     agent keeps them and registers its key;
//   - unsigned results from agents older than SIGNING_AGENT_VERSION are accepted and flagged.
import type { KeyObject } from 'node:crypto';
import semverLt from 'semver/functions/lt.js';
import semverValid from 'semver/functions/valid.js';
import { canonicalJson, publicKeyObject, SIGNING_AGENT_VERSION, SignedResultEnvelope, verifyPayload } from '../../protocol/evidence.ts';
import type { EvidenceEntry } from './log.ts';
import type { DeviceKey, EvidenceStore } from './store.ts';

export class BatchRefused extends Error {
  constructor(
    readonly code: 'signing_key_unknown' | 'signature_required',
    message: string,
  ) {
    super(message);
  }
}

export interface CheckedBatch {
  /** The plain results to validate and store; undefined where `refused` has the reason. */
  results: unknown[];
  refused: (string | undefined)[];
  /** The evidence entry of each result, to append once it is stored. */
  entries: (EvidenceEntry | undefined)[];
  counts: { signed: number; unsigned: number; invalid: number };
}

/** True for agents that predate signing (no version, or a semver below SIGNING_AGENT_VERSION). */
export function predatesSigning(agentVersion: string | undefined): boolean {
  if (agentVersion === undefined) return true;
  if (!semverValid(agentVersion)) return false;
  return semverLt(agentVersion, SIGNING_AGENT_VERSION);
}

const isSigned = (item: unknown): boolean => typeof item === 'object' && item !== null && 'signed' in item;

// A key object per device key: creating one from the JWK costs more than verifying a signature.
const keyObjects = new Map<string, KeyObject>();
function keyObject(key: DeviceKey): KeyObject {
  let k = keyObjects.get(key.keyId);
  if (!k) {
    if (keyObjects.size > 10_000) keyObjects.clear();
    keyObjects.set(key.keyId, (k = publicKeyObject(key.publicKey)));
  }
  return k;
}

export function checkSignatures(items: unknown[], ctx: { deviceId: string; agentVersion?: string; now: number; store: EvidenceStore }): CheckedBatch {
  const key = ctx.store.getKey(ctx.deviceId);
  const out: CheckedBatch = { results: [], refused: [], entries: [], counts: { signed: 0, unsigned: 0, invalid: 0 } };
  const anyUnsigned = items.some((i) => !isSigned(i));
  if (anyUnsigned && (key || !predatesSigning(ctx.agentVersion))) {
    const why = key ? `this device registered signing key ${key.keyId}` : `agent ${ctx.agentVersion} signs its results (from ${SIGNING_AGENT_VERSION})`;
    throw new BatchRefused('signature_required', `${why}: unsigned results are refused; the agent must sign them (register its key with POST /api/v1/devices/key first)`);
  }
  for (const item of items) {
    if (!isSigned(item)) {
      out.results.push(item);
      out.refused.push(undefined);
      out.entries.push({ at: ctx.now, device: ctx.deviceId, unsigned: safeCanonical(item), ...(ctx.agentVersion ? { agentVersion: ctx.agentVersion } : {}) });
      out.counts.unsigned++;
      continue;
    }
    const refuse = (reason: string, invalidSignature = false) => {
      out.results.push(undefined);
      out.refused.push(reason);
      out.entries.push(undefined);
      if (invalidSignature) out.counts.invalid++;
    };
    const env = SignedResultEnvelope.safeParse(item);
    if (!env.success) {
      refuse(`signed result malformed: ${env.error.issues.map((i) => `${i.path.join('.') || 'envelope'}: ${i.message}`).join('; ')}`);
      continue;
    }
    const { signed, sig, key: keyId } = env.data;
    if (!key) throw new BatchRefused('signing_key_unknown', `results are signed with ${keyId}, but this device has no registered signing key: register it with POST /api/v1/devices/key`);
    if (keyId !== key.keyId) {
      throw new BatchRefused('signing_key_unknown', `results are signed with ${keyId}, but this device's registered key is ${key.keyId} (a key is never replaced: the agent's key file changed; enrol the device again)`);
    }
    let payload: { device?: unknown; result?: unknown } | undefined;
    try {
      payload = JSON.parse(signed) as typeof payload;
    } catch {
      payload = undefined;
    }
    if (!payload || typeof payload !== 'object' || safeCanonical(payload) !== signed) {
      refuse('signed payload is not canonical JSON (docs/evidence.md "Canonical encoding")');
      continue;
    }
    if (payload.device !== ctx.deviceId) {
      refuse(`signed for device ${String(payload.device).slice(0, 64)}, but sent with the token of ${ctx.deviceId}`, true);
      continue;
    }
    if (!verifyPayload(signed, sig, keyObject(key))) {
      refuse(`signature does not verify with this device's key ${key.keyId}: the result was altered after signing`, true);
      continue;
    }
    out.results.push(payload.result);
    out.refused.push(undefined);
    out.entries.push({ at: ctx.now, device: ctx.deviceId, signed, sig, key: keyId });
    out.counts.signed++;
  }
  return out;
}

function safeCanonical(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch {
    return 'null';
  }
}
