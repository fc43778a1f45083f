import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { auditLog, connections, devices, tenants } from '../../db/schema.ts';
import { recordAudit, verifyAuditChain } from '../audit/service.ts';
import { createDeviceSession, createTenant, createUser } from '../../test/factories.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import { applyRetention } from './service.ts';

const DAY = 86_400_000;
let h: TestApp;
beforeAll(async () => {
  h = await createTestApp();
});
afterAll(async () => h?.close());

describe('retention job', () => {
  it('deletes what the tenant settings say has expired, and nothing younger', async () => {
    const db = h.db.database.db;
    const tenant = await createTenant(db);
    await db
      .update(tenants)
      .set({ retentionConnectionDays: 10, retentionAuditDays: 30, retentionInactiveDeviceDays: 20 })
      .where(eq(tenants.id, tenant.id));
    const user = await createUser(db, tenant.id);
    const now = Date.now();

    const fresh = await createDeviceSession(db, user);
    const idle = await createDeviceSession(db, user);
    await db
      .update(devices)
      .set({ lastSeenAt: new Date(now - 25 * DAY) })
      .where(eq(devices.id, idle.deviceId));
    const oldRevoked = await createDeviceSession(db, user);
    await db
      .update(devices)
      .set({ revokedAt: new Date(now - 21 * DAY), revokeReason: 'logout' })
      .where(eq(devices.id, oldRevoked.deviceId));

    const connection = (daysAgo: number) => ({
      tenantId: tenant.id,
      userId: user.id,
      deviceId: fresh.deviceId,
      ip: '10.0.0.1',
      userAgent: 'test',
      connectedAt: new Date(now - daysAgo * DAY),
      disconnectedAt: new Date(now - daysAgo * DAY + 60_000),
    });
    await db.insert(connections).values([connection(11), connection(12), connection(3)]);

    for (let i = 0; i < 4; i += 1) await recordAudit(db, tenant.id, { action: `test.event_${i}` });
    const rows = await db.select().from(auditLog).where(eq(auditLog.tenantId, tenant.id));
    // Backdate the two oldest past the 30 days. That breaks their hashes, which does not
    // matter: retention deletes them, and the chain must verify from the record after.
    const [first, second] = rows.sort((a, b) => a.seq - b.seq);
    await db
      .update(auditLog)
      .set({ at: new Date(now - 40 * DAY) })
      .where(eq(auditLog.id, first!.id));
    await db
      .update(auditLog)
      .set({ at: new Date(now - 35 * DAY) })
      .where(eq(auditLog.id, second!.id));

    const [result] = (await applyRetention(h.app)).filter((r) => r.tenantId === tenant.id);
    expect(result).toMatchObject({
      connectionsDeleted: 2,
      auditRecordsDeleted: 2,
      devicesSignedOut: 1,
      devicesDeleted: 1,
    });

    const left = await db.select().from(connections).where(eq(connections.tenantId, tenant.id));
    expect(left).toHaveLength(1);
    const deviceRows = await db.select().from(devices).where(eq(devices.tenantId, tenant.id));
    expect(deviceRows.map((d) => d.id).sort()).toEqual([fresh.deviceId, idle.deviceId].sort());
    const idleRow = deviceRows.find((d) => d.id === idle.deviceId)!;
    expect(idleRow).toMatchObject({ revokeReason: 'inactive', wipeRequested: true });
    expect(idleRow.revokedAt).toBeInstanceOf(Date);
    expect(deviceRows.find((d) => d.id === fresh.deviceId)!.revokedAt).toBeNull();

    // The remaining chain still verifies from its new first record.
    const remaining = await db.select().from(auditLog).where(eq(auditLog.tenantId, tenant.id));
    expect(remaining.some((r) => r.seq === first!.seq || r.seq === second!.seq)).toBe(false);
    expect(remaining.some((r) => r.action === 'retention.applied')).toBe(true);
    expect((await verifyAuditChain(db, tenant.id)).ok).toBe(true);

    // A second run finds nothing more to do.
    const [again] = (await applyRetention(h.app)).filter((r) => r.tenantId === tenant.id);
    expect(again).toMatchObject({
      connectionsDeleted: 0,
      auditRecordsDeleted: 0,
      devicesSignedOut: 0,
    });
  });
});
