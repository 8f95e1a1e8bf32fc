// POST /api/v1/enroll: a site's enrollment code in, a device identity out.
import { Hono } from 'hono';
import { EnrollRequest, type EnrollResponse } from '../../protocol/api.ts';
import type { AppDeps, AppEnv } from '../app-types.ts';
import { ApiError, type ErrorCode, readJson } from '../http-errors.ts';
import { EnrollmentError, type EnrollmentFailure } from '../registry/registry.ts';
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

export function enrollRoutes(deps: AppDeps & { clock: () => number }) {
  const { registry, logger, clock } = deps;
  const app = new Hono<AppEnv>();

  app.post('/enroll', async (c) => {
    const parsed = EnrollRequest.safeParse(await readJson(c));
    if (!parsed.success) throw new ApiError(400, 'bad_request', `invalid enrollment request: ${formatIssuesLine(parsed.error)}`);
    const { code, ...facts } = parsed.data;
    try {
      const { deviceId, token, site } = registry.enroll(code, facts);
      logger.info({ requestId: c.get('requestId'), device: deviceId, site: site.code, hostname: facts.hostname }, 'device enrolled');
      const body: EnrollResponse = { deviceId, token, site: { code: site.code, name: site.name }, collectorTime: clock() };
      return c.json(body, 201);
    } catch (error) {
      if (!(error instanceof EnrollmentError)) throw error;
      logger.warn({ requestId: c.get('requestId'), reason: error.reason, hostname: facts.hostname }, 'enrollment refused');
      const refusal = REFUSAL[error.reason];
      throw new ApiError(403, refusal.code, refusal.message);
    }
  });
  return app;
}
