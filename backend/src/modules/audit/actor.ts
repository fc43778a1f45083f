import type { FastifyRequest } from 'fastify';
import { caller } from '../../plugins/access.ts';
import type { AuditActor } from './service.ts';

/** The signed-in caller of a request as an audit actor (user, device, address). */
export function requestActor(request: FastifyRequest): AuditActor & { userId: string } {
  const auth = caller(request);
  return { userId: auth.userId, deviceId: auth.deviceId, ip: request.ip };
}
