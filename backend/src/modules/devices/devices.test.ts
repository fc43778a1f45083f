import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { devices } from '../../db/schema.ts';
import type { DomainEvents } from '../../lib/bus.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  bearer,
  createTenant,
  createUser,
  signInAs,
  type TestTenant,
  type TestUser,
} from '../../test/factories.ts';
import { verifyAuditChain } from '../audit/service.ts';
import type { Session } from '../auth/schemas.ts';

let t: TestApp;
let tenant: TestTenant;
let otherTenant: TestTenant;
let admin: TestUser;
let adminSession: Session;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db);
  otherTenant = await createTenant(t.app.db);
  admin = await createUser(t.app.db, tenant.id, { role: 'admin' });
  adminSession = await signInAs(t.app, admin, { deviceName: 'Admin desk' });
});
afterAll(async () => t?.close());

type AdminDevice = {
  id: string;
  name: string;
  userId: string;
  userDisplayName: string;
  current: boolean;
  revokedAt: string | null;
  revokeReason: string | null;
  wipeRequested: boolean;
  wipeConfirmedAt: string | null;
};

async function list(query = ''): Promise<AdminDevice[]> {
  const res = await t.app.inject({
    method: 'GET',
    url: `/api/devices${query}`,
    headers: bearer(adminSession),
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe('GET /api/devices', () => {
  it('lists the tenant’s devices with their users, never another tenant’s', async () => {
    const member = await createUser(t.app.db, tenant.id);
    const phone = await signInAs(t.app, member, { deviceName: 'Member phone' });
    const stranger = await signInAs(t.app, await createUser(t.app.db, otherTenant.id));
    const all = await list();
    const ids = all.map((d) => d.id);
    expect(ids).toContain(phone.deviceId);
    expect(ids).toContain(adminSession.deviceId);
    expect(ids).not.toContain(stranger.deviceId);
    expect(all.find((d) => d.id === phone.deviceId)).toMatchObject({
      name: 'Member phone',
      userId: member.id,
      userDisplayName: member.displayName,
      current: false,
      revokedAt: null,
      wipeRequested: false,
    });
    expect(all.find((d) => d.id === adminSession.deviceId)!.current).toBe(true);

    const filtered = await list(`?userId=${member.id}`);
    expect(filtered.map((d) => d.id)).toEqual([phone.deviceId]);
    expect(await list(`?userId=${stranger.user.id}`)).toEqual([]);
  });

  it('is for admins only', async () => {
    for (const role of ['member', 'lead', 'auditor'] as const) {
      const session = await signInAs(t.app, await createUser(t.app.db, tenant.id, { role }));
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/devices',
        headers: bearer(session),
      });
      expect(res.statusCode, role).toBe(403);
      expect(res.json().code).toBe('AUTH_FORBIDDEN');
    }
  });
});

describe('DELETE /api/devices/:deviceId (remote wipe)', () => {
  it('signs the device out with wipe; the device confirms and the admin sees it', async () => {
    const member = await createUser(t.app.db, tenant.id);
    const phone = await signInAs(t.app, member);
    const events: Array<DomainEvents['device.revoked']> = [];
    const off = t.app.bus.on('device.revoked', (e) => events.push(e));
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/devices/${phone.deviceId}`,
      headers: bearer(adminSession),
    });
    off();
    expect(res.statusCode).toBe(204);
    expect(events).toEqual([
      {
        tenantId: tenant.id,
        userId: member.id,
        deviceId: phone.deviceId,
        wipe: true,
        reason: 'admin',
      },
    ]);

    const contact = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(phone) });
    expect(contact.json()).toMatchObject({ code: 'DEVICE_REVOKED', details: { wipe: true } });
    await t.app.inject({ method: 'POST', url: '/api/auth/wipe-confirmed', headers: bearer(phone) });

    const row = (await list(`?userId=${member.id}`))[0]!;
    expect(row).toMatchObject({
      id: phone.deviceId,
      revokeReason: 'admin',
      wipeRequested: true,
      revokedAt: expect.any(String),
      wipeConfirmedAt: expect.any(String),
    });
    expect((await verifyAuditChain(t.app.db, tenant.id)).ok).toBe(true);
  });

  it('answers 404 for another tenant’s device and leaves it signed in', async () => {
    const stranger = await signInAs(t.app, await createUser(t.app.db, otherTenant.id));
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/devices/${stranger.deviceId}`,
      headers: bearer(adminSession),
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('DEVICE_NOT_FOUND');
    const [row] = await t.app.db.select().from(devices).where(eq(devices.id, stranger.deviceId));
    expect(row!.revokedAt).toBeNull();
  });

  it('answers 404 for an unknown device and refuses non-admins', async () => {
    const unknown = await t.app.inject({
      method: 'DELETE',
      url: '/api/devices/00000000-0000-4000-8000-000000000000',
      headers: bearer(adminSession),
    });
    expect(unknown.statusCode).toBe(404);
    const member = await signInAs(t.app, await createUser(t.app.db, tenant.id));
    const forbidden = await t.app.inject({
      method: 'DELETE',
      url: `/api/devices/${adminSession.deviceId}`,
      headers: bearer(member),
    });
    expect(forbidden.statusCode).toBe(403);
  });
});
