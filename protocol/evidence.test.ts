import { describe, expect, it } from 'vitest';
import { canonicalJson, generateDeviceKey, keyIdOf, privateKeyFromPem, publicKeyObject, signedPayload, signResult, verifyPayload } from './evidence.ts';

describe('canonical encoding and signatures', () => {
  it('sorts keys at every depth, drops undefined members, writes numbers and strings as JSON.stringify does', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: undefined, 'é': 'ü\n' }, z: 1e21, y: 0.1 + 0.2 })).toBe('{"a":{"d":[1,"x",null],"é":"ü\\n"},"b":1,"y":0.30000000000000004,"z":1e+21}');
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/non-finite/);
    expect(signedPayload('dev_1', { z: 1, a: 2 })).toBe('{"device":"dev_1","result":{"a":2,"z":1}}');
  });

  it('verifies a signature with the registered key only, and not after one byte changed', () => {
    const pair = generateDeviceKey();
    const key = privateKeyFromPem(pair.privateKeyPem);
    const env = signResult('dev_1', { id: 'r1', mbps: 20.5 }, key, keyIdOf(pair.publicKey));
    expect(env.key).toMatch(/^ed25519:[0-9a-f]{32}$/);
    expect(verifyPayload(env.signed, env.sig, publicKeyObject(pair.publicKey))).toBe(true);
    expect(verifyPayload(env.signed.replace('20.5', '20.6'), env.sig, publicKeyObject(pair.publicKey))).toBe(false);
    expect(verifyPayload(env.signed, env.sig, publicKeyObject(generateDeviceKey().publicKey))).toBe(false);
    // Ed25519 is deterministic: a resent result has the same bytes and signature, so it lands on itself.
    expect(signResult('dev_1', { mbps: 20.5, id: 'r1' }, key, env.key)).toEqual(env);
  });
});
