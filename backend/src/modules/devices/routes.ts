import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { appError } from '../../errors.ts';
import { caller } from '../../plugins/access.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { AdminDeviceInfo, AdminDeviceQuery, DeviceIdParams } from './schemas.ts';
import { findDevice, listTenantDevices, revokeDevice } from './service.ts';

/**
 * Admin view of the tenant's devices and remote wipe. Scoped to the caller's tenant: a
 * device id of another tenant is answered 404, like one that does not exist.
 */
const deviceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['devices'];

  app.get(
    '/api/devices',
    {
      schema: {
        tags,
        querystring: AdminDeviceQuery,
        response: { 200: Type.Array(AdminDeviceInfo), ...errorResponses(400, 401, 403) },
      },
      config: { access: 'devices.manage' },
    },
    async (request) => {
      const auth = caller(request);
      return listTenantDevices(app.db, auth.tenantId, {
        ...(request.query.userId === undefined ? {} : { userId: request.query.userId }),
        currentDeviceId: auth.deviceId,
      });
    },
  );

  app.delete(
    '/api/devices/:deviceId',
    {
      schema: {
        tags,
        params: DeviceIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'devices.manage' },
    },
    async (request, reply) => {
      const auth = caller(request);
      const device = await findDevice(app.db, auth.tenantId, request.params.deviceId);
      if (!device) throw appError('DEVICE_NOT_FOUND');
      // A device revoked before stays revoked; repeating the wipe order is a no-op.
      await revokeDevice(app, auth.tenantId, device.id, {
        reason: 'admin',
        wipe: true,
        actor: { userId: auth.userId, deviceId: auth.deviceId, ip: request.ip },
      });
      return reply.code(204).send(null);
    },
  );
};

export default deviceRoutes;
