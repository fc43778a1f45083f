import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { Type } from 'typebox';
import { appError } from '../../errors.ts';
import { caller } from '../../plugins/access.ts';
import {
  NoContent,
  PasskeyOptionsResult,
  PasskeyRegisterBody,
  errorResponses,
} from '../auth/schemas.ts';
import {
  deletePasskey,
  listPasskeys,
  passkeyRegistrationOptions,
  registerPasskey,
} from '../auth/webauthn.ts';
import { DeviceIdParams, DeviceInfo } from '../devices/schemas.ts';
import { findDevice, listActiveDevices, revokeDevice, toDeviceInfo } from '../devices/service.ts';
import {
  CodeBody,
  Me,
  MePatchBody,
  Passkey,
  PasskeyIdParams,
  PasswordChangeBody,
  RecoveryCodes,
  TotpEnrolment,
} from './schemas.ts';
import {
  changePassword,
  confirmTotp,
  disableTotp,
  enrolTotp,
  loadMe,
  regenerateRecoveryCodes,
  updateMe,
} from './service.ts';

/**
 * The signed-in user's own account: profile, password, second factors, own devices.
 * Everything acts on the caller only (access 'self'); ids in paths must be the caller's
 * own, anything else is answered 404. Routes marked `duringMfaEnrolment` stay reachable
 * while an admin or dispatcher still has to set up TOTP.
 */
const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['me'];
  const self = { access: 'self' as const };
  const selfDuringEnrolment = { access: 'self' as const, duringMfaEnrolment: true };

  app.get(
    '/api/me',
    {
      schema: { tags, response: { 200: Me, ...errorResponses(401) } },
      config: selfDuringEnrolment,
    },
    async (request) => {
      const auth = caller(request);
      return loadMe(app.db, auth.tenantId, auth.userId);
    },
  );

  app.patch(
    '/api/me',
    {
      schema: { tags, body: MePatchBody, response: { 200: Me, ...errorResponses(400, 401, 403) } },
      config: self,
    },
    async (request) => updateMe(app, caller(request), request.body),
  );

  app.post(
    '/api/me/password',
    {
      schema: {
        tags,
        body: PasswordChangeBody,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 429) },
      },
      config: self,
    },
    async (request, reply) => {
      await changePassword(app, caller(request), request.body, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/me/totp/enrol',
    {
      schema: { tags, response: { 200: TotpEnrolment, ...errorResponses(401, 409) } },
      config: selfDuringEnrolment,
    },
    async (request) => enrolTotp(app, caller(request)),
  );

  app.post(
    '/api/me/totp/confirm',
    {
      schema: {
        tags,
        body: CodeBody,
        response: { 200: RecoveryCodes, ...errorResponses(400, 401, 409) },
      },
      config: selfDuringEnrolment,
    },
    async (request) => ({
      recoveryCodes: await confirmTotp(app, caller(request), request.body.code, request.ip),
    }),
  );

  app.delete(
    '/api/me/totp',
    {
      schema: {
        tags,
        body: CodeBody,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 409) },
      },
      config: self,
    },
    async (request, reply) => {
      await disableTotp(app, caller(request), request.body.code, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/me/recovery-codes',
    {
      schema: {
        tags,
        body: CodeBody,
        response: { 200: RecoveryCodes, ...errorResponses(400, 401, 403, 409) },
      },
      config: self,
    },
    async (request) => ({
      recoveryCodes: await regenerateRecoveryCodes(
        app,
        caller(request),
        request.body.code,
        request.ip,
      ),
    }),
  );

  app.post(
    '/api/me/passkeys/options',
    {
      schema: { tags, response: { 200: PasskeyOptionsResult, ...errorResponses(401, 403) } },
      config: self,
    },
    async (request) => {
      const auth = caller(request);
      return passkeyRegistrationOptions(app, auth.tenantId, auth.userId);
    },
  );

  app.post(
    '/api/me/passkeys',
    {
      schema: {
        tags,
        body: PasskeyRegisterBody,
        response: { 200: Passkey, ...errorResponses(400, 401, 403) },
      },
      config: self,
    },
    async (request) => {
      const auth = caller(request);
      return registerPasskey(
        app,
        auth.tenantId,
        { userId: auth.userId, deviceId: auth.deviceId, ip: request.ip },
        {
          challengeId: request.body.challengeId,
          response: request.body.response as RegistrationResponseJSON,
          name: request.body.name,
        },
      );
    },
  );

  app.get(
    '/api/me/passkeys',
    {
      schema: { tags, response: { 200: Type.Array(Passkey), ...errorResponses(401, 403) } },
      config: self,
    },
    async (request) => {
      const auth = caller(request);
      return listPasskeys(app.db, auth.tenantId, auth.userId);
    },
  );

  app.delete(
    '/api/me/passkeys/:passkeyId',
    {
      schema: {
        tags,
        params: PasskeyIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: self,
    },
    async (request, reply) => {
      const auth = caller(request);
      await deletePasskey(
        app.db,
        auth.tenantId,
        { userId: auth.userId, deviceId: auth.deviceId, ip: request.ip },
        request.params.passkeyId,
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/me/devices',
    {
      schema: { tags, response: { 200: Type.Array(DeviceInfo), ...errorResponses(401) } },
      config: selfDuringEnrolment,
    },
    async (request) => {
      const auth = caller(request);
      const rows = await listActiveDevices(app.db, auth.tenantId, auth.userId);
      return rows.map((row) => toDeviceInfo(row, auth.deviceId));
    },
  );

  app.delete(
    '/api/me/devices/:deviceId',
    {
      schema: {
        tags,
        params: DeviceIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 404) },
      },
      config: selfDuringEnrolment,
    },
    async (request, reply) => {
      const auth = caller(request);
      const device = await findDevice(app.db, auth.tenantId, request.params.deviceId);
      if (!device || device.userId !== auth.userId) throw appError('DEVICE_NOT_FOUND');
      // Already signed out: nothing left to do, and saying so again is harmless.
      await revokeDevice(app, auth.tenantId, device.id, {
        reason: 'user',
        wipe: true,
        actor: { userId: auth.userId, deviceId: auth.deviceId, ip: request.ip },
      });
      return reply.code(204).send(null);
    },
  );
};

export default meRoutes;
