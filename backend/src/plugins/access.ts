import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import { roleHas, type Permission } from '@trupp/shared';
import { appError } from '../errors.ts';
import { authenticateAccessToken, type AuthContext } from '../modules/auth/access-token.ts';
import { authenticateApiKey, type ApiKeyContext } from '../modules/integrations/api-keys.ts';
import type { ApiKeyScope } from '../modules/integrations/schemas.ts';

/**
 * Who may call a route. Every `/api` route must declare one in `config.access`; the app
 * refuses to start otherwise, so no route is accidentally open.
 * - 'public': no sign-in (sign-in itself, one-time links, health)
 * - 'self': any signed-in user, acting on their own account/data only
 * - 'superadmin': platform operators
 * - a Permission from the shared matrix
 * - 'apikey:<scope>': a dispatch system's API key (`Bearer trupp_…`) with that scope, not
 *   a user; the route reads `apiKeyCaller(request)` and `request.auth` stays null
 */
export type Access = UserAccess | `apikey:${ApiKeyScope}`;
/** The access values a signed-in user can meet (socket events know no API keys). */
export type UserAccess = 'public' | 'self' | 'superadmin' | Permission;

/** A registered API route as the route-walking tests see it. */
export interface ApiRoute {
  method: string;
  url: string;
  access: Access;
  schema: FastifySchema | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every `/api` route, in registration order (for tests that walk all routes). */
    apiRoutes: ApiRoute[];
  }
  interface FastifyContextConfig {
    access?: Access;
    /** Reachable while the device still has to enrol a second factor. */
    duringMfaEnrolment?: boolean;
  }
  interface FastifyRequest {
    /** Set for every user route; `null` on public and API-key routes. */
    auth: AuthContext | null;
    /** Set for every 'apikey:…' route; `null` everywhere else. */
    apiKey: ApiKeyContext | null;
  }
}

/** The signed-in caller; only valid on routes whose access is not 'public'. */
export function caller(request: FastifyRequest): AuthContext {
  if (!request.auth) throw appError('AUTH_REQUIRED');
  return request.auth;
}

export function isApiKeyAccess(access: Access): access is `apikey:${ApiKeyScope}` {
  return access.startsWith('apikey:');
}

/** The API key behind the request; only valid on routes whose access is 'apikey:…'. */
export function apiKeyCaller(request: FastifyRequest): ApiKeyContext {
  if (!request.apiKey) throw appError('API_KEY_INVALID');
  return request.apiKey;
}

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1] ?? null;
}

async function accessPlugin(app: FastifyInstance) {
  app.decorateRequest('auth', null);
  app.decorateRequest('apiKey', null);
  app.decorate('apiRoutes', [] as ApiRoute[]);

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/') || route.url.startsWith('/api/docs')) return;
    if (route.url === '/api/openapi.json') return;
    const access = route.config?.access;
    if (!access) {
      throw new Error(`Route ${String(route.method)} ${route.url} declares no config.access`);
    }
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      app.apiRoutes.push({ method, url: route.url, access, schema: route.schema });
    }
  });

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (!access || access === 'public') return;
    if (isApiKeyAccess(access)) {
      const scope = access.slice('apikey:'.length) as ApiKeyScope;
      request.apiKey = await authenticateApiKey(app.db, bearerToken(request), scope);
      return;
    }
    const token = bearerToken(request);
    if (!token) throw appError('AUTH_REQUIRED');
    const auth = await authenticateAccessToken(app.db, token, request.ip);
    request.auth = auth;
    if (auth.mfaEnrolmentPending && !request.routeOptions.config.duringMfaEnrolment) {
      throw appError('AUTH_MFA_ENROLMENT_REQUIRED');
    }
    if (access === 'self') return;
    if (access === 'superadmin') {
      if (!auth.isSuperadmin) throw appError('AUTH_SUPERADMIN_REQUIRED');
      return;
    }
    if (!roleHas(auth.role, access)) throw appError('AUTH_FORBIDDEN');
  });
}

export default fp(accessPlugin, { name: 'access', dependencies: ['db'] });
