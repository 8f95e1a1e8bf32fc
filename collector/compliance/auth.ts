// Who may read verdicts: the admin token, or a read-only reporting token (SONGCHECK_REPORT_TOKEN) that the
// ICT department can give to Grafana links, report scripts and auditors without handing out the power to
// revoke devices or edit sites. Recomputing (POST) needs the admin token. Comparisons are constant-time
// and failures are counted per address, like the admin API.
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-types.ts';
import { clientAddress } from '../client-address.ts';
import { errorResponse } from '../http-errors.ts';
import { bearerToken } from '../middleware/device-auth.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { sha256 } from '../registry/secrets.ts';

export interface ReportAuthOptions {
  adminToken: string;
  reportToken?: string;
  failures: RateLimiter;
  trustProxy: boolean;
  /** Only the admin token will do (recomputing). */
  adminOnly?: boolean;
}

export function reportAuth(o: ReportAuthOptions): MiddlewareHandler<AppEnv> {
  const admin = sha256(o.adminToken);
  const report = o.reportToken ? sha256(o.reportToken) : undefined;
  const challenge = { 'www-authenticate': 'Bearer realm="songcheck-reports"' };
  return async (c, next) => {
    const address = clientAddress(c, o.trustProxy);
    const limited = o.failures.peek(`report:${address}`);
    if (!limited.ok) {
      return errorResponse(c, 429, 'rate_limited', `too many failed logins from this address; try again in ${limited.retryAfterS} s`, { 'retry-after': String(limited.retryAfterS) });
    }
    const token = bearerToken(c.req.header('authorization'));
    const hash = token === undefined ? undefined : sha256(token);
    if (hash && timingSafeEqual(hash, admin)) return next();
    if (hash && report && timingSafeEqual(hash, report)) {
      if (o.adminOnly) return errorResponse(c, 403, 'forbidden', 'the reporting token is read-only; recomputing needs the admin token (SONGCHECK_ADMIN_TOKEN)');
      return next();
    }
    o.failures.charge(`report:${address}`);
    const wanted = o.adminOnly ? 'SONGCHECK_ADMIN_TOKEN' : 'SONGCHECK_REPORT_TOKEN or SONGCHECK_ADMIN_TOKEN';
    if (token === undefined) return errorResponse(c, 401, 'unauthorized', `missing token: send "Authorization: Bearer <${wanted}>"`, challenge);
    return errorResponse(c, 401, 'unauthorized', `token not recognised: use ${wanted}`, challenge);
  };
}
