// Authenticates an agent by its device token (`Authorization: Bearer <token>`) and puts the device and
// its site on the context. The site is what later sets the measurement tags, so the payload never can.
// Nothing is cached: a revoked device is refused from its next request, whichever process revoked it.
//
// `deviceAuth` runs twice on the device routes: once in front of the body limit (app.ts), so a request
// without a valid token is refused before a byte of its body is read, and once on the route, where the
// device found the first time is reused and only the per-device rate limit is charged.
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.ts';
import { errorResponse } from '../http/errors.ts';
import type { RateLimiter } from '../http/rate-limit.ts';
import type { Registry } from '../registry/registry.ts';
import { bearerToken, DEVICE_CHALLENGE } from './bearer.ts';

export function deviceAuth(registry: Pick<Registry, 'authenticateDevice'>, limiter?: RateLimiter): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const auth = c.get('device') ?? (await authenticate(c, registry));
    if (auth instanceof Response) return auth;
    c.set('device', auth);
    // Per device, not per address: a school's devices share one NAT address.
    const taken = limiter?.take(auth.device.id);
    if (taken && !taken.ok) {
      return errorResponse(c, 429, 'rate_limited', `too many requests from this device; keep the results and retry in ${taken.retryAfterS} s`, {
        'retry-after': String(taken.retryAfterS),
      });
    }
    await next();
  };
}

async function authenticate(c: Context<AppEnv>, registry: Pick<Registry, 'authenticateDevice'>) {
  const token = bearerToken(c.req.header('authorization'));
  if (token === undefined) {
    return errorResponse(c, 401, 'unauthorized', 'missing device token: send "Authorization: Bearer <device token>" (enroll the agent first)', DEVICE_CHALLENGE);
  }
  const auth = await registry.authenticateDevice(token);
  if (!auth) {
    return errorResponse(
      c,
      401,
      'unauthorized',
      'device token not recognised or revoked; enroll the agent again with a new code from the ICT department',
      DEVICE_CHALLENGE,
    );
  }
  return auth;
}
