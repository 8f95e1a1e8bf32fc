// The one gate in front of everything that is not an agent's: the admin API (`/api/v1/admin/*`), the
// verdicts, reports and evidence packs, and the console's sign-in. Tokens are compared in constant time
// (both sides hashed to 32 bytes, then crypto.timingSafeEqual), so response times say nothing about how much
// of a guess was right. Failed attempts are counted per client address in ONE limiter shared by every
// prefix and the console, so a guesser gets one budget, not one per route family; past the limit the gate
// answers 429 without checking.
//
//   admin   the admin token (SONGCHECK_ADMIN_TOKEN). The reporting token or a device token here is a valid
//           credential without the right: 403. Anything else: 401.
//   reader  the admin token or the read-only reporting token (SONGCHECK_REPORT_TOKEN).
import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.ts';
import { clientAddress } from '../http/client-address.ts';
import { errorResponse } from '../http/errors.ts';
import { type RateLimit, RateLimiter } from '../http/rate-limit.ts';
import type { Registry } from '../registry/registry.ts';
import { sha256 } from '../registry/secrets.ts';
import { bearerToken } from './bearer.ts';

export interface AdminGateOptions {
  adminToken: string;
  reportToken?: string;
  registry: Pick<Registry, 'authenticateDevice'>;
  /** Failed attempts allowed per client address (SONGCHECK_AUTH_FAILURE_BURST, ..._PER_HOUR). */
  limits: RateLimit;
  clock: () => number;
  trustProxy: boolean;
}

export interface AdminGate {
  admin: MiddlewareHandler<AppEnv>;
  reader: MiddlewareHandler<AppEnv>;
  /** The one failure budget, keyed `admin:<client address>`: the console's sign-in peeks and charges it too. */
  failures: RateLimiter;
}

const ADMIN_CHALLENGE = { 'www-authenticate': 'Bearer realm="songcheck-admin"' };
const REPORT_CHALLENGE = { 'www-authenticate': 'Bearer realm="songcheck-reports"' };

export function createAdminGate(o: AdminGateOptions): AdminGate {
  const admin = sha256(o.adminToken);
  const report = o.reportToken ? sha256(o.reportToken) : undefined;
  const failures = new RateLimiter(o.limits, o.clock);
  const key = (c: Context) => `admin:${clientAddress(c, o.trustProxy)}`;

  const gate = (role: 'admin' | 'reader'): MiddlewareHandler<AppEnv> => async (c, next) => {
    const limited = failures.peek(key(c));
    if (!limited.ok) {
      return errorResponse(c, 429, 'rate_limited', `too many failed ${role === 'admin' ? 'admin ' : ''}logins from this address; try again in ${limited.retryAfterS} s`, {
        'retry-after': String(limited.retryAfterS),
      });
    }
    const token = bearerToken(c.req.header('authorization'));
    const hash = token === undefined ? undefined : sha256(token);
    if (hash && timingSafeEqual(hash, admin)) {
      c.set('admin', true);
      return next();
    }
    if (hash && report && timingSafeEqual(hash, report)) {
      if (role === 'reader') return next();
      return errorResponse(c, 403, 'forbidden', 'the reporting token is read-only; this needs the admin token (SONGCHECK_ADMIN_TOKEN)');
    }
    failures.charge(key(c));
    if (role === 'reader') {
      const wanted = 'SONGCHECK_REPORT_TOKEN or SONGCHECK_ADMIN_TOKEN';
      if (token === undefined) return errorResponse(c, 401, 'unauthorized', `missing token: send "Authorization: Bearer <${wanted}>"`, REPORT_CHALLENGE);
      return errorResponse(c, 401, 'unauthorized', `token not recognised: use ${wanted}`, REPORT_CHALLENGE);
    }
    if (token === undefined) {
      return errorResponse(c, 401, 'unauthorized', 'missing admin token: send "Authorization: Bearer <SONGCHECK_ADMIN_TOKEN>"', ADMIN_CHALLENGE);
    }
    if (o.registry.authenticateDevice(token)) {
      return errorResponse(c, 403, 'forbidden', 'a device token cannot use the admin API; use the admin token (SONGCHECK_ADMIN_TOKEN)');
    }
    return errorResponse(c, 401, 'unauthorized', 'admin token not recognised', ADMIN_CHALLENGE);
  };

  return { admin: gate('admin'), reader: gate('reader'), failures };
}
