// POST /api/v1/enroll: a site's enrollment code in, a device identity out.
import { Hono } from 'hono';
import { EnrollRequest, type EnrollResponse } from '../../protocol/api.ts';
import type { ResolvedDeps } from '../app-types.ts';
import type { AppEnv } from '../http/env.ts';
import { clientAddress } from '../http/client-address.ts';
import { ApiError, type ErrorCode, readJson } from '../http/errors.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import { EnrollmentError, type EnrollmentFailure } from './registry.ts';
import { formatIssuesLine } from '../validation.ts';

const REFUSAL: Record<EnrollmentFailure, { code: ErrorCode; message: string }> = {
  invalid: {
    code: 'enrollment_code_invalid',
    message: 'enrollment code not recognised; check it was typed correctly, or ask the ICT department for a new code',
  },
  expired: { code: 'enrollment_code_expired', message: 'enrollment code has expired; ask the ICT department for a new code' },
  used_up: {
    code: 'enrollment_code_used_up',
    message: 'enrollment code has already been used as many times as allowed; ask the ICT department for a new code',
  },
};

export function enrollRoutes(deps: ResolvedDeps) {
  const { registry, logger, clock } = deps;
  // Failed attempts per client address. Keyed by address alone, not address + code: someone guessing
  // codes tries a new code each time, so a key that includes the code would never fill up. Successful
  // enrollments cost nothing, so the ICT office can enrol a hundred Raspberry Pis from one address.
  const failures = new RateLimiter(deps.limits.authFailures, clock);
  const app = new Hono<AppEnv>();

  app.post('/enroll', async (c) => {
    const address = clientAddress(c, deps.trustProxy);
    const limited = failures.peek(address);
    if (!limited.ok) {
      logger.warn({ requestId: c.get('requestId'), address }, 'enrollment refused: too many failed attempts from this address');
      throw new ApiError(429, 'rate_limited', `too many failed enrollment attempts from this address; try again in ${limited.retryAfterS} s`, {
        'retry-after': String(limited.retryAfterS),
      });
    }
    const parsed = EnrollRequest.safeParse(await readJson(c));
    if (!parsed.success) {
      failures.charge(address);
      throw new ApiError(400, 'bad_request', `invalid enrollment request: ${formatIssuesLine(parsed.error)}`);
    }
    const { code, publicKey, ...facts } = parsed.data;
    try {
      const { deviceId, token, site, duplicateOf } = registry.enroll(code, facts);
      // The key is registered with the enrollment (audited); a collector without the evidence feature ignores it.
      const key = publicKey && deps.evidence ? deps.evidence.store.registerKey(deviceId, publicKey, 'enroll', clock()) : undefined;
      const log = { requestId: c.get('requestId'), device: deviceId, site: site.code, hostname: facts.hostname };
      logger.info(log, 'device enrolled');
      if (duplicateOf.length > 0) {
        // Flagged, never merged: a cloned disk image or a reinstall; the ICT department decides.
        logger.warn({ ...log, fingerprint: facts.fingerprint, duplicateOf }, 'device enrolled with a hardware fingerprint another active device has');
      }
      const body: EnrollResponse = { deviceId, token, site: { code: site.code, name: site.name }, collectorTime: clock(), ...(key ? { keyId: key.keyId } : {}) };
      return c.json(body, 201, { 'cache-control': 'no-store' });
    } catch (error) {
      if (!(error instanceof EnrollmentError)) throw error;
      failures.charge(address);
      logger.warn({ requestId: c.get('requestId'), reason: error.reason, hostname: facts.hostname, address }, 'enrollment refused');
      const refusal = REFUSAL[error.reason];
      throw new ApiError(403, refusal.code, refusal.message);
    }
  });
  return app;
}
