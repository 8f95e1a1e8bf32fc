import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { secretWeakness, weakSecretProblems } from './secret-strength.ts';

describe('secret strength', () => {
  it('refuses placeholders, short values, few distinct characters, and words with runs and sequences', () => {
    expect(secretWeakness('changeme')).toMatch(/placeholder/);
    expect(secretWeakness('CHANGE-ME-please-0f3a9c1e77b2d4a8e6f0c1d2e3f4a5b6')).toMatch(/placeholder .*changeme/);
    expect(secretWeakness('demo-admin-token-not-for-production')).toMatch(/placeholder/);
    expect(secretWeakness('a'.repeat(16))).toMatch(/too short \(16 characters; at least 32\)/);
    expect(secretWeakness('a'.repeat(64))).toMatch(/too few distinct characters \(1;/);
    expect(secretWeakness('abab'.repeat(10))).toMatch(/too few distinct/);
    expect(secretWeakness('test-admin-token-0123456789abcdefghij')).toMatch(/words, runs and sequences/);
    expect(secretWeakness('abcdefghijklmnopqrstuvwxyz0123456789')).toMatch(/words, runs and sequences/);
  });

  it('accepts every generated secret of the minimum length (hex and base64url, thousands drawn)', () => {
    for (let i = 0; i < 5000; i++) {
      for (const v of [randomBytes(16).toString('hex'), randomBytes(32).toString('hex'), randomBytes(24).toString('base64url'), randomBytes(32).toString('base64')]) {
        expect(secretWeakness(v), v).toBeUndefined();
      }
    }
  });

  it('names the variable, says why and how to generate one, and refuses one secret used for two jobs', () => {
    const same = randomBytes(32).toString('hex');
    expect(weakSecretProblems({ SONGCHECK_ADMIN_TOKEN: 'changeme', SONGCHECK_REPORT_TOKEN: undefined })).toEqual([
      'SONGCHECK_ADMIN_TOKEN: is a placeholder (it contains "changeme"); generate one with `openssl rand -hex 32`',
    ]);
    expect(weakSecretProblems({ SONGCHECK_ADMIN_TOKEN: same, SONGCHECK_TEST_TOKEN_KEY: same })).toEqual([
      'SONGCHECK_TEST_TOKEN_KEY: must differ from SONGCHECK_ADMIN_TOKEN (each secret has its own job); generate one with `openssl rand -hex 32`',
    ]);
  });
});
