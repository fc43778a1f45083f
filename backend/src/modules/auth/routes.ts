import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { appError } from '../../errors.ts';
import { bearerToken, caller } from '../../plugins/access.ts';
import { revokeDevice } from '../devices/service.ts';
import {
  DeviceLimitRevokeBody,
  LoginBody,
  LoginResult,
  MfaBody,
  NoContent,
  PasskeyOptionsBody,
  PasskeyOptionsResult,
  PasskeyVerifyBody,
  RefreshBody,
  Session,
  SessionResult,
  errorResponses,
} from './schemas.ts';
import {
  confirmWipe,
  loginWithMfaCode,
  loginWithPasskey,
  loginWithPassword,
  passkeyLoginUser,
  revokeForDeviceLimit,
} from './service.ts';
import { refreshSession, type ClientInfo } from './sessions.ts';
import { passkeyAuthenticationOptions } from './webauthn.ts';

/** Address, User-Agent and the optional device name of the request, for sessions and audit. */
export function clientOf(request: FastifyRequest, deviceName?: string): ClientInfo {
  return { ip: request.ip, userAgent: request.headers['user-agent'] ?? '', deviceName };
}

/**
 * Sign-in, refresh and sign-out. Besides the lockout per account and address
 * (login_throttle), the credential-taking routes have a per-address request limit
 * a tenth of the general one.
 */
const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tight = {
    max: Math.max(10, Math.ceil(app.config.rateLimitPerMinute / 10)),
    timeWindow: 60_000,
  };
  const tags = ['auth'];

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags,
        security: [],
        body: LoginBody,
        response: { 200: LoginResult, ...errorResponses(400, 401, 409, 429) },
      },
      config: { access: 'public', rateLimit: tight },
    },
    async (request) =>
      loginWithPassword(app, request.body, clientOf(request, request.body.deviceName)),
  );

  app.post(
    '/api/auth/login/mfa',
    {
      schema: {
        tags,
        security: [],
        body: MfaBody,
        response: { 200: SessionResult, ...errorResponses(400, 401, 409, 429) },
      },
      config: { access: 'public', rateLimit: tight },
    },
    async (request) => {
      const session = await loginWithMfaCode(
        app,
        request.body,
        clientOf(request, request.body.deviceName),
      );
      return { status: 'ok' as const, session };
    },
  );

  app.post(
    '/api/auth/passkey/options',
    {
      schema: {
        tags,
        security: [],
        body: PasskeyOptionsBody,
        response: { 200: PasskeyOptionsResult, ...errorResponses(400, 401, 429) },
      },
      config: { access: 'public', rateLimit: tight },
    },
    async (request) =>
      passkeyAuthenticationOptions(app, await passkeyLoginUser(app, request.body.mfaToken)),
  );

  app.post(
    '/api/auth/passkey/verify',
    {
      schema: {
        tags,
        security: [],
        body: PasskeyVerifyBody,
        response: { 200: SessionResult, ...errorResponses(400, 401, 409, 429) },
      },
      config: { access: 'public', rateLimit: tight },
    },
    async (request) => {
      const { challengeId, response, mfaToken, deviceName } = request.body;
      const session = await loginWithPasskey(
        app,
        {
          challengeId,
          response: response as AuthenticationResponseJSON,
          ...(mfaToken === undefined ? {} : { mfaToken }),
        },
        clientOf(request, deviceName),
      );
      return { status: 'ok' as const, session };
    },
  );

  app.post(
    '/api/auth/device-limit/revoke',
    {
      schema: {
        tags,
        security: [],
        body: DeviceLimitRevokeBody,
        response: { 204: NoContent, ...errorResponses(400, 401, 404, 429) },
      },
      config: { access: 'public', rateLimit: tight },
    },
    async (request, reply) => {
      await revokeForDeviceLimit(app, request.body, clientOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/refresh',
    {
      schema: {
        tags,
        security: [],
        body: RefreshBody,
        response: { 200: Session, ...errorResponses(400, 401, 429) },
      },
      config: { access: 'public', rateLimit: tight },
    },
    async (request) => refreshSession(app, request.body.refreshToken, clientOf(request)),
  );

  app.post(
    '/api/auth/logout',
    {
      schema: { tags, response: { 204: NoContent, ...errorResponses(401) } },
      config: { access: 'self', duringMfaEnrolment: true },
    },
    async (request, reply) => {
      const auth = caller(request);
      await revokeDevice(app, auth.tenantId, auth.deviceId, {
        reason: 'logout',
        wipe: false,
        actor: { userId: auth.userId, deviceId: auth.deviceId, ip: request.ip },
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/wipe-confirmed',
    {
      schema: {
        tags,
        description: "Bearer: the revoked device's old access token.",
        response: { 204: NoContent, ...errorResponses(401, 429) },
      },
      config: { access: 'public', rateLimit: tight },
    },
    async (request, reply) => {
      const token = bearerToken(request);
      if (!token) throw appError('AUTH_REQUIRED');
      await confirmWipe(app, token, clientOf(request));
      return reply.code(204).send(null);
    },
  );
};

export default authRoutes;
