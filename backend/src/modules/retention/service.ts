import { and, eq, inArray, isNotNull, isNull, lt, notExists, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import {
  alarmRecipients,
  alarms,
  auditLog,
  authChallenges,
  connections,
  devices,
  geofencePresence,
  loginThrottle,
  memberPositions,
  oneTimeLinks,
  positionPoints,
  pttEmergencies,
  pttRecordings,
  tenants,
} from '../../db/schema.ts';
import type { Config } from '../../config.ts';
import { deleteRecordingFiles } from '../ptt/service.ts';
import { applyChatRetention } from '../chat/retention.ts';
import type { DomainBus } from '../../lib/bus.ts';
import { recordAudit } from '../audit/service.ts';
import { revokeDevice } from '../devices/service.ts';

const DAY_MS = 86_400_000;
/** Used or expired one-time links stay this long (so "link already used" can still be answered). */
const LINK_KEEP_MS = 30 * DAY_MS;
/** Rows deleted per statement, so a large backlog never holds long locks. */
const BATCH = 5000;

export interface RetentionResult {
  tenantId: string;
  connectionsDeleted: number;
  auditRecordsDeleted: number;
  devicesSignedOut: number;
  devicesDeleted: number;
  positionPointsDeleted: number;
  alarmsDeleted: number;
  recordingsDeleted: number;
  emergenciesDeleted: number;
  chatMessagesDeleted: number;
  chatBlobsDeleted: number;
}

async function deleteInBatches(run: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const affected = await run();
    total += affected;
    if (affected < BATCH) return total;
  }
}

const affectedRows = (result: unknown): number =>
  Number((result as [{ affectedRows?: number }])[0]?.affectedRows ?? 0);

/**
 * Enforces every tenant's retention settings (the ones the privacy page promises):
 * connection records after `retentionConnectionDays`; audit records after
 * `retentionAuditDays` (always the oldest first, so the remaining chain still verifies
 * from its new first record); devices unseen for `retentionInactiveDeviceDays` are
 * signed out (with wipe — an unused device may be lost) and revoked device rows are
 * deleted after the same period. Also clears expired sign-in helpers. Idempotent, so
 * every node may run it.
 */
export async function applyRetention(
  deps: { db: Db; bus: DomainBus; config: Pick<Config, 'recordingsDir' | 'chatBlobsDir'> },
  now = new Date(),
): Promise<RetentionResult[]> {
  const { db } = deps;
  const results: RetentionResult[] = [];
  for (const tenant of await db.select().from(tenants)) {
    const connectionCutoff = new Date(now.getTime() - tenant.retentionConnectionDays * DAY_MS);
    const auditCutoff = new Date(now.getTime() - tenant.retentionAuditDays * DAY_MS);
    const deviceCutoff = new Date(now.getTime() - tenant.retentionInactiveDeviceDays * DAY_MS);

    const connectionsDeleted = await deleteInBatches(async () =>
      affectedRows(
        await db
          .delete(connections)
          .where(
            and(eq(connections.tenantId, tenant.id), lt(connections.connectedAt, connectionCutoff)),
          )
          .limit(BATCH),
      ),
    );
    const auditRecordsDeleted = await deleteInBatches(async () =>
      affectedRows(
        await db
          .delete(auditLog)
          .where(and(eq(auditLog.tenantId, tenant.id), lt(auditLog.at, auditCutoff)))
          .orderBy(auditLog.seq)
          .limit(BATCH),
      ),
    );

    const inactive = await db
      .select({ id: devices.id })
      .from(devices)
      .where(
        and(
          eq(devices.tenantId, tenant.id),
          isNull(devices.revokedAt),
          lt(devices.lastSeenAt, deviceCutoff),
        ),
      );
    let devicesSignedOut = 0;
    for (const device of inactive) {
      const revoked = await revokeDevice(deps, tenant.id, device.id, {
        reason: 'inactive',
        wipe: true,
        actor: {},
      });
      if (revoked) devicesSignedOut += 1;
    }
    const devicesDeleted = await deleteInBatches(async () =>
      affectedRows(
        await db
          .delete(devices)
          .where(
            and(
              eq(devices.tenantId, tenant.id),
              isNotNull(devices.revokedAt),
              lt(devices.revokedAt, deviceCutoff),
            ),
          )
          .limit(BATCH),
      ),
    );

    const trackCutoff = new Date(now.getTime() - tenant.retentionTrackHours * 3600_000);
    const positionPointsDeleted = await deleteInBatches(async () =>
      affectedRows(
        await db
          .delete(positionPoints)
          .where(
            and(eq(positionPoints.tenantId, tenant.id), lt(positionPoints.recordedAt, trackCutoff)),
          )
          .limit(BATCH),
      ),
    );
    await db
      .delete(memberPositions)
      .where(
        and(eq(memberPositions.tenantId, tenant.id), lt(memberPositions.recordedAt, trackCutoff)),
      );
    // Being in an area is known only with a position: it goes with the last position
    // (expired or sharing stopped), and old "left" marks go with the track.
    await db.delete(geofencePresence).where(
      and(
        eq(geofencePresence.tenantId, tenant.id),
        or(
          and(eq(geofencePresence.inside, false), lt(geofencePresence.since, trackCutoff)),
          notExists(
            db
              .select({ one: sql`1` })
              .from(memberPositions)
              .where(eq(memberPositions.userId, geofencePresence.userId)),
          ),
        ),
      ),
    );

    const alarmCutoff = new Date(now.getTime() - tenant.retentionAlarmDays * DAY_MS);
    const alarmsDeleted = await deleteInBatches(async () => {
      const old = await db
        .select({ id: alarms.id })
        .from(alarms)
        .where(and(eq(alarms.tenantId, tenant.id), lt(alarms.createdAt, alarmCutoff)))
        .limit(BATCH);
      if (old.length === 0) return 0;
      const ids = old.map((a) => a.id);
      await db
        .delete(alarmRecipients)
        .where(and(eq(alarmRecipients.tenantId, tenant.id), inArray(alarmRecipients.alarmId, ids)));
      return affectedRows(
        await db.delete(alarms).where(and(eq(alarms.tenantId, tenant.id), inArray(alarms.id, ids))),
      );
    });

    // Push-to-talk recordings: the audio file first, then its row, so a failure leaves a
    // row that the next run retries rather than a file nobody lists.
    const recordingCutoff = new Date(now.getTime() - tenant.retentionRecordingDays * DAY_MS);
    const recordingsDeleted = await deleteInBatches(async () => {
      const old = await db
        .select({ id: pttRecordings.id, storagePath: pttRecordings.storagePath })
        .from(pttRecordings)
        .where(
          and(eq(pttRecordings.tenantId, tenant.id), lt(pttRecordings.startedAt, recordingCutoff)),
        )
        .limit(BATCH);
      if (old.length === 0) return 0;
      await deleteRecordingFiles(
        deps.config.recordingsDir,
        old.map((r) => r.storagePath),
      );
      return affectedRows(
        await db.delete(pttRecordings).where(
          and(
            eq(pttRecordings.tenantId, tenant.id),
            inArray(
              pttRecordings.id,
              old.map((r) => r.id),
            ),
          ),
        ),
      );
    });
    // Emergency calls are incident records: kept as long as alarms.
    const emergenciesDeleted = await deleteInBatches(async () =>
      affectedRows(
        await db
          .delete(pttEmergencies)
          .where(
            and(eq(pttEmergencies.tenantId, tenant.id), lt(pttEmergencies.raisedAt, alarmCutoff)),
          )
          .limit(BATCH),
      ),
    );

    const { chatMessagesDeleted, chatBlobsDeleted } = await applyChatRetention(
      db,
      deps.config.chatBlobsDir,
      tenant,
      now,
    );

    const result = {
      tenantId: tenant.id,
      connectionsDeleted,
      auditRecordsDeleted,
      devicesSignedOut,
      devicesDeleted,
      positionPointsDeleted,
      alarmsDeleted,
      recordingsDeleted,
      emergenciesDeleted,
      chatMessagesDeleted,
      chatBlobsDeleted,
    };
    if (
      connectionsDeleted +
        auditRecordsDeleted +
        devicesDeleted +
        positionPointsDeleted +
        alarmsDeleted +
        recordingsDeleted +
        emergenciesDeleted +
        chatMessagesDeleted +
        chatBlobsDeleted >
      0
    ) {
      await recordAudit(db, tenant.id, {
        action: 'retention.applied',
        details: {
          connectionsDeleted,
          auditRecordsDeleted,
          devicesDeleted,
          positionPointsDeleted,
          alarmsDeleted,
          recordingsDeleted,
          emergenciesDeleted,
          chatMessagesDeleted,
          chatBlobsDeleted,
        },
      });
    }
    results.push(result);
  }

  await db.delete(authChallenges).where(lt(authChallenges.expiresAt, now));
  await db
    .delete(oneTimeLinks)
    .where(lt(oneTimeLinks.expiresAt, new Date(now.getTime() - LINK_KEEP_MS)));
  await db
    .delete(loginThrottle)
    .where(
      and(
        lt(loginThrottle.windowStartedAt, new Date(now.getTime() - DAY_MS)),
        or(isNull(loginThrottle.lockedUntil), lt(loginThrottle.lockedUntil, now)),
      ),
    );
  return results;
}
