// The Hono environment every route and middleware of the collector shares: what the middleware puts on
// the request context. Its own file so the auth and HTTP middleware need not import the app's dependencies.
import type { AuthenticatedDevice } from '../registry/registry.ts';

export type AppEnv = {
  Variables: {
    requestId: string;
    device: AuthenticatedDevice;
    /** Set on admin routes: the API is used with the admin token. */
    admin: true;
  };
};
