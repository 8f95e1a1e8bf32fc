// Who may run a throughput test: an enrolled device, by its device token or by a short-lived test token the
// collector issued to it. Both travel as `Authorization: Bearer …`; for WebSocket clients that cannot set
// headers (browsers), the test token, and only it, may travel as the `access_token` query parameter, like
// M-Lab's ndt7 servers.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { bearerToken, MAX_TOKEN_LENGTH } from '../auth/bearer.ts';
import type { Registry } from '../registry/registry.ts';

export interface TestCaller {
  deviceId: string;
  siteCode: string;
  /** How the caller proved itself. */
  via: 'device_token' | 'test_token';
}

const TEST_TOKEN_PREFIX = 'sct1.';
export const TEST_TOKEN_TTL_MS = 5 * 60_000;

/**
 * Test tokens are HMAC-SHA256 signed, so every collector process (and every collector behind one load
 * balancer with the same SONGCHECK_TEST_TOKEN_KEY) accepts them without shared state. Their key is their
 * own secret, not the admin token: a test token, or the key itself, tells nothing about the admin token,
 * and rotating one leaves the other alone. A label is hashed in so the key signs nothing else.
 */
export class TestTokens {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHash('sha256').update('songcheck ndt7 test token v1\0').update(secret).digest();
  }

  issue(caller: { deviceId: string; siteCode: string }, ttlMs = TEST_TOKEN_TTL_MS): { token: string; expiresAt: number } {
    const expiresAt = this.now() + ttlMs;
    const body = Buffer.from(JSON.stringify({ d: caller.deviceId, s: caller.siteCode, e: expiresAt })).toString('base64url');
    return { token: `${TEST_TOKEN_PREFIX}${body}.${this.sign(body)}`, expiresAt };
  }

  verify(token: string): { deviceId: string; siteCode: string } | undefined {
    if (!token.startsWith(TEST_TOKEN_PREFIX)) return undefined;
    const [body, sig] = token.slice(TEST_TOKEN_PREFIX.length).split('.');
    if (!body || !sig) return undefined;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { d?: unknown; s?: unknown; e?: unknown };
      if (typeof claims.d !== 'string' || typeof claims.s !== 'string' || typeof claims.e !== 'number') return undefined;
      if (claims.e <= this.now()) return undefined;
      return { deviceId: claims.d, siteCode: claims.s };
    } catch {
      return undefined;
    }
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/** A request's credential and where it travelled. */
export interface Credential {
  token: string;
  /** In the `access_token` query parameter rather than the Authorization header. */
  inQuery: boolean;
}

/** The credential of a request: the bearer header first, else the `access_token` query parameter. */
export function credentialOf(req: IncomingMessage, url: URL): Credential | undefined {
  const header = bearerToken(req.headers.authorization);
  const token = header ?? url.searchParams.get('access_token') ?? undefined;
  // Device tokens are 43 base64url characters and test tokens under 200; anything longer is not ours.
  if (!token || token.length > MAX_TOKEN_LENGTH) return undefined;
  return { token, inQuery: header === undefined };
}

/**
 * Only a test token may travel in the URL. A URL is written to proxy and access logs and kept in browser
 * histories; a test token found there is worth five minutes of one device's throughput tests, a device
 * token would be worth the device's identity until it is revoked (and an admin token, everything).
 */
export function isAllowedInQuery(token: string): boolean {
  return token.startsWith(TEST_TOKEN_PREFIX);
}

export type Authenticate = (credential: Credential) => Promise<TestCaller | undefined>;

/**
 * Device tokens are checked against the registry (a revoked device is refused at once), and only from the
 * Authorization header. A test token is checked by its signature and expiry only, so a device revoked after
 * asking for one can still start tests for at most TEST_TOKEN_TTL_MS.
 */
export function authenticator(registry: Pick<Registry, 'authenticateDevice'>, tokens: TestTokens): Authenticate {
  return async ({ token, inQuery }) => {
    const test = tokens.verify(token);
    if (test) return { ...test, via: 'test_token' };
    if (token.startsWith(TEST_TOKEN_PREFIX) || inQuery) return undefined;
    const auth = await registry.authenticateDevice(token);
    return auth ? { deviceId: auth.device.id, siteCode: auth.site.code, via: 'device_token' } : undefined;
  };
}
