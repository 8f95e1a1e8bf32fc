// Authenticates an agent by its device token (`Authorization: Bearer <token>`) and puts the device and
// its site on the context. The site is what later sets the measurement tags, so the payload never can.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-types.ts';
import { errorResponse } from '../http-errors.ts';
import type { Registry } from '../registry/registry.ts';

// Tokens are 43 base64url characters; anything much longer is not one of ours and is not worth hashing.
const MAX_TOKEN_LENGTH = 512;

export function deviceAuth(registry: Pick<Registry, 'authenticateDevice'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    const challenge = { 'www-authenticate': 'Bearer realm="songcheck"' };
    if (!match || match[1]!.length > MAX_TOKEN_LENGTH) {
      return errorResponse(c, 401, 'unauthorized', 'missing device token: send "Authorization: Bearer <device token>" (enroll the agent first)', challenge);
    }
    const auth = registry.authenticateDevice(match[1]!);
    if (!auth) {
      return errorResponse(
        c,
        401,
        'unauthorized',
        'device token not recognised or revoked; enroll the agent again with a new code from the ICT department',
        challenge,
      );
    }
    c.set('device', auth);
    await next();
  };
}
