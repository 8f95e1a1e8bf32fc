// The one way tests make a secret (admin token, reporting token, test-token key, webhook secret): random and
// strong, as an operator generates one. The collector refuses to start with a placeholder or a weak value
// (collector/auth/secret-strength.ts), so a test never writes one by hand.
import { randomBytes } from 'node:crypto';

/** 32 random bytes as 64 hex characters, what `openssl rand -hex 32` prints. */
export function strongToken(): string {
  return randomBytes(32).toString('hex');
}
