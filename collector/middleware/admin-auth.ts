// Authenticates the admin API: `Authorization: Bearer <SONGCHECK_ADMIN_TOKEN>`. The comparison is
// constant-time (both sides hashed to 32 bytes, then crypto.timingSafeEqual), so response times say
// nothing about how much of a guess was right. A device token here is a valid credential without the
// right: 403 `forbidden`. Anything else: 401. Failed attempts are counted per client address and, past
// the limit, answered 429 without checking, which slows guessing a weak admin token.
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-types.ts';
import { clientAddress } from '../client-address.ts';
import { errorResponse } from '../http-errors.ts';
import type { RateLimiter } from '../rate-limit.ts';
import type { Registry } from '../registry/registry.ts';
import { sha256 } from '../registry/secrets.ts';
import { bearerToken } from './device-auth.ts';

export interface AdminAuthOptions {
  adminToken: string;
  registry: Pick<Registry, 'authenticateDevice'>;
  failures: RateLimiter;
  trustProxy: boolean;
}

export function adminAuth(options: AdminAuthOptions): MiddlewareHandler<AppEnv> {
  const expected = sha256(options.adminToken);
  const challenge = { 'www-authenticate': 'Bearer realm="songcheck-admin"' };
  return async (c, next) => {
    const address = clientAddress(c, options.trustProxy);
    const limited = options.failures.peek(`admin:${address}`);
    if (!limited.ok) {
      return errorResponse(c, 429, 'rate_limited', `too many failed admin logins from this address; try again in ${limited.retryAfterS} s`, {
        'retry-after': String(limited.retryAfterS),
      });
    }
    const token = bearerToken(c.req.header('authorization'));
    if (token !== undefined && timingSafeEqual(sha256(token), expected)) {
      c.set('admin', true);
      return next();
    }
    options.failures.charge(`admin:${address}`);
    if (token === undefined) {
      return errorResponse(c, 401, 'unauthorized', 'missing admin token: send "Authorization: Bearer <SONGCHECK_ADMIN_TOKEN>"', challenge);
    }
    if (await options.registry.authenticateDevice(token)) {
      return errorResponse(c, 403, 'forbidden', 'a device token cannot use the admin API; use the admin token (SONGCHECK_ADMIN_TOKEN)');
    }
    return errorResponse(c, 401, 'unauthorized', 'admin token not recognised', challenge);
  };
}
