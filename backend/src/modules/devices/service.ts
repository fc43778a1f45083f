import { and, desc, eq, isNull } from 'drizzle-orm';
import type { DeviceRevokedPayload } from '@trupp/shared';
import type { Db, DbOrTx } from '../../db/client.ts';
import { devices, users } from '../../db/schema.ts';
import type { DomainBus } from '../../lib/bus.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import type { AdminDeviceInfo, DeviceInfo } from './schemas.ts';

export interface RevokeOptions {
  reason: DeviceRevokedPayload['reason'] | 'logout';
  /** Ask the client to erase its local data at its next contact. */
  wipe: boolean;
  actor: AuditActor;
}

/**
 * Signs a device out for good. Its token hashes are kept so that, when the device next
 * makes contact, it is recognised and told to wipe (DEVICE_REVOKED with `wipe`). The
 * change and its audit record commit together; then `device.revoked` is emitted, which
 * the socket gateway turns into a notice and a disconnect on every node.
 * Returns false when the device does not exist in this tenant or was revoked already.
 */
export async function revokeDevice(
  deps: { db: Db; bus: DomainBus },
  tenantId: string,
  deviceId: string,
  options: RevokeOptions,
): Promise<boolean> {
  const revoked = await deps.db.transaction(async (tx) => {
    const [device] = await tx
      .select({ id: devices.id, userId: devices.userId, name: devices.name })
      .from(devices)
      .where(
        and(eq(devices.tenantId, tenantId), eq(devices.id, deviceId), isNull(devices.revokedAt)),
      )
      .for('update');
    if (!device) return null;
    await tx
      .update(devices)
      .set({
        revokedAt: new Date(),
        revokedBy: options.actor.userId ?? null,
        revokeReason: options.reason,
        wipeRequested: options.wipe,
      })
      .where(eq(devices.id, device.id));
    await recordAudit(tx, tenantId, {
      action: options.reason === 'logout' ? 'auth.logged_out' : 'device.revoked',
      actor: options.actor,
      target: { type: 'device', id: device.id },
      details: {
        userId: device.userId,
        deviceName: device.name,
        reason: options.reason,
        wipe: options.wipe,
      },
    });
    return device;
  });
  if (!revoked) return false;
  deps.bus.emit('device.revoked', {
    tenantId,
    userId: revoked.userId,
    deviceId,
    wipe: options.wipe,
    reason: options.reason === 'logout' ? 'user' : options.reason,
  });
  return true;
}

/** Revokes every active device of a user (deactivation, 2FA reset). Returns how many. */
export async function revokeAllDevicesOfUser(
  deps: { db: Db; bus: DomainBus },
  tenantId: string,
  userId: string,
  options: RevokeOptions,
): Promise<number> {
  const active = await deps.db
    .select({ id: devices.id })
    .from(devices)
    .where(
      and(eq(devices.tenantId, tenantId), eq(devices.userId, userId), isNull(devices.revokedAt)),
    );
  let count = 0;
  for (const device of active) {
    if (await revokeDevice(deps, tenantId, device.id, options)) count += 1;
  }
  return count;
}

type DeviceRow = typeof devices.$inferSelect;

/** A device as its owner sees it; `currentDeviceId` marks the one asking. */
export function toDeviceInfo(row: DeviceRow, currentDeviceId: string | null): DeviceInfo {
  return {
    id: row.id,
    name: row.name,
    userAgent: row.userAgent,
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
    lastIp: row.lastIp,
    current: row.id === currentDeviceId,
  };
}

/**
 * The user's signed-in (not revoked) devices, most recently seen first. Pass a
 * transaction and `lock` to lock them, as sign-in does before it counts them.
 */
export async function listActiveDevices(
  db: DbOrTx,
  tenantId: string,
  userId: string,
  options: { lock?: boolean } = {},
): Promise<DeviceRow[]> {
  const query = db
    .select()
    .from(devices)
    .where(
      and(eq(devices.tenantId, tenantId), eq(devices.userId, userId), isNull(devices.revokedAt)),
    )
    .orderBy(desc(devices.lastSeenAt));
  return options.lock ? query.for('update') : query;
}

/** Largest number of devices the admin list returns. */
const ADMIN_LIST_LIMIT = 1000;

/**
 * Every device of the tenant (or of one of its users), revoked ones included so an
 * admin can see whether a wiped device confirmed the wipe; active ones first.
 */
export async function listTenantDevices(
  db: Db,
  tenantId: string,
  options: { userId?: string; currentDeviceId: string | null },
): Promise<AdminDeviceInfo[]> {
  const rows = await db
    .select({ device: devices, userDisplayName: users.displayName })
    .from(devices)
    .innerJoin(users, and(eq(users.id, devices.userId), eq(users.tenantId, tenantId)))
    .where(
      and(
        eq(devices.tenantId, tenantId),
        options.userId === undefined ? undefined : eq(devices.userId, options.userId),
      ),
    )
    .orderBy(desc(isNull(devices.revokedAt)), desc(devices.lastSeenAt))
    .limit(ADMIN_LIST_LIMIT);
  return rows.map(({ device, userDisplayName }) => ({
    ...toDeviceInfo(device, options.currentDeviceId),
    userId: device.userId,
    userDisplayName,
    revokedAt: device.revokedAt?.toISOString() ?? null,
    revokeReason: device.revokeReason,
    wipeRequested: device.wipeRequested,
    wipeConfirmedAt: device.wipeConfirmedAt?.toISOString() ?? null,
  }));
}

/** The tenant's device with this id, revoked or not; null when there is none. */
export async function findDevice(
  db: DbOrTx,
  tenantId: string,
  deviceId: string,
): Promise<DeviceRow | null> {
  const [row] = await db
    .select()
    .from(devices)
    .where(and(eq(devices.tenantId, tenantId), eq(devices.id, deviceId)))
    .limit(1);
  return row ?? null;
}
