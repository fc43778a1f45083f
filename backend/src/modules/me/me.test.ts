import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, devices, tenants } from '../../db/schema.ts';
import type { DomainEvents } from '../../lib/bus.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  TEST_PASSWORD,
  bearer,
  createQualification,
  createTenant,
  createUnit,
  createUser,
  signIn,
  signInAs,
  type TestTenant,
} from '../../test/factories.ts';
import { verifyAuditChain } from '../audit/service.ts';
import type { Session } from '../auth/schemas.ts';

let t: TestApp;
let tenant: TestTenant;
let otherTenant: TestTenant;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db, { name: 'Feuerwehr Musterstadt' });
  otherTenant = await createTenant(t.app.db);
});
afterAll(async () => t?.close());

const get = (url: string, session: Session) =>
  t.app.inject({ method: 'GET', url, headers: bearer(session) });

describe('GET /api/me', () => {
  it('returns the account with tenant, units, qualifications and permissions', async () => {
    const unitB = await createUnit(t.app.db, tenant.id, { name: 'B Squad' });
    const unitA = await createUnit(t.app.db, tenant.id, { name: 'A Station' });
    await createUnit(t.app.db, tenant.id, { name: 'Not mine' });
    const q = await createQualification(t.app.db, tenant.id, 'Breathing apparatus');
    const admin = await createUser(t.app.db, tenant.id, {
      role: 'admin',
      unitIds: [unitB.id, unitA.id],
      qualificationIds: [q.id],
      locale: 'de',
    });
    const session = await signInAs(t.app, admin);
    const res = await get('/api/me', session);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      id: admin.id,
      tenantId: tenant.id,
      tenantName: 'Feuerwehr Musterstadt',
      email: admin.email,
      displayName: admin.displayName,
      role: 'admin',
      isSuperadmin: false,
      locale: 'de',
      totpEnabled: true,
      passkeyCount: 0,
      units: [unitA, unitB],
      qualifications: [q],
      permissions: expect.arrayContaining(['devices.manage', 'users.manage', 'audit.read']),
    });
  });

  it('gives a member no admin permissions', async () => {
    const member = await createUser(t.app.db, tenant.id);
    const res = await get('/api/me', await signInAs(t.app, member));
    expect(res.json().permissions).toEqual([
      'directory.read',
      'alarms.receive',
      'ptt.use',
      'chat.use',
    ]);
  });

  it('needs a valid access token', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/api/me' });
    expect(none.json().code).toBe('AUTH_REQUIRED');
    const bad = await t.app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${'x'.repeat(43)}` },
    });
    expect(bad.json().code).toBe('AUTH_TOKEN_INVALID');
  });
});

describe('PATCH /api/me', () => {
  it('changes name and language and bumps the directory version', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signInAs(t.app, user);
    const [before] = await t.app.db.select().from(tenants).where(eq(tenants.id, tenant.id));
    const changed: string[] = [];
    const off = t.app.bus.on('directory.changed', (e) => changed.push(e.tenantId));
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/api/me',
      headers: bearer(session),
      payload: { displayName: '  Erika Mustermann ', locale: 'en' },
    });
    off();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ displayName: 'Erika Mustermann', locale: 'en' });
    const [after] = await t.app.db.select().from(tenants).where(eq(tenants.id, tenant.id));
    expect(after!.directoryVersion).toBe(before!.directoryVersion + 1);
    expect(changed).toEqual([tenant.id]);

    const cleared = await t.app.inject({
      method: 'PATCH',
      url: '/api/me',
      headers: bearer(session),
      payload: { locale: null },
    });
    expect(cleared.json()).toMatchObject({ displayName: 'Erika Mustermann', locale: null });
  });

  it('refuses an empty name and an unknown language', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signInAs(t.app, user);
    for (const payload of [{ displayName: '   ' }, { displayName: '' }, { locale: 'fr' }]) {
      const res = await t.app.inject({
        method: 'PATCH',
        url: '/api/me',
        headers: bearer(session),
        payload,
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
    expect((await get('/api/me', session)).json().displayName).toBe(user.displayName);
  });
});

describe('POST /api/me/password', () => {
  const change = (session: Session, currentPassword: string, newPassword: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/me/password',
      headers: bearer(session),
      payload: { currentPassword, newPassword },
    });

  it('changes the password after checking the current one', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signInAs(t.app, user);
    const wrong = await change(session, 'not-my-password', 'a-brand-new-password');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('AUTH_INVALID_CREDENTIALS');
    const weak = await change(session, TEST_PASSWORD, 'short');
    expect(weak.statusCode).toBe(400);
    expect(weak.json().code).toBe('AUTH_WEAK_PASSWORD');

    expect((await change(session, TEST_PASSWORD, 'a-brand-new-password')).statusCode).toBe(204);
    await expect(signIn(t.app, user.email, TEST_PASSWORD)).rejects.toThrow(/401/);
    await signIn(t.app, user.email, 'a-brand-new-password');
    const audit = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.action, 'auth.password_changed')));
    expect(audit.some((r) => r.targetId === user.id)).toBe(true);
  });
});

describe('own devices and remote wipe', () => {
  it('lists my signed-in devices and marks the current one', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const a = await signInAs(t.app, user, { deviceName: 'Laptop' });
    const b = await signInAs(t.app, user, { deviceName: 'Phone' });
    const res = await get('/api/me/devices', a);
    expect(res.statusCode).toBe(200);
    const list = res.json<Array<{ id: string; name: string; current: boolean }>>();
    expect(list.map((d) => [d.name, d.current]).sort()).toEqual([
      ['Laptop', true],
      ['Phone', false],
    ]);
    expect(list.find((d) => d.id === b.deviceId)).toBeDefined();
  });

  it('wipes one of my devices: it is told to wipe, and confirms it', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const laptop = await signInAs(t.app, user, { deviceName: 'Laptop' });
    const lost = await signInAs(t.app, user, { deviceName: 'Lost phone' });
    const events: Array<DomainEvents['device.revoked']> = [];
    const off = t.app.bus.on('device.revoked', (e) => events.push(e));
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/me/devices/${lost.deviceId}`,
      headers: bearer(laptop),
    });
    off();
    expect(res.statusCode).toBe(204);
    expect(events).toEqual([
      expect.objectContaining({ deviceId: lost.deviceId, wipe: true, reason: 'user' }),
    ]);

    const contact = await get('/api/me', lost);
    expect(contact.statusCode).toBe(401);
    expect(contact.json()).toMatchObject({ code: 'DEVICE_REVOKED', details: { wipe: true } });

    const confirm = await t.app.inject({
      method: 'POST',
      url: '/api/auth/wipe-confirmed',
      headers: bearer(lost),
    });
    expect(confirm.statusCode).toBe(204);
    const [row] = await t.app.db.select().from(devices).where(eq(devices.id, lost.deviceId));
    expect(row!.wipeConfirmedAt).not.toBeNull();
    expect(row!.revokeReason).toBe('user');
    // Only the laptop is left.
    const list = await get('/api/me/devices', laptop);
    expect(list.json().map((d: { id: string }) => d.id)).toEqual([laptop.deviceId]);

    const actions = (
      await t.app.db
        .select({ action: auditLog.action })
        .from(auditLog)
        .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.targetId, lost.deviceId)))
    ).map((r) => r.action);
    expect(actions).toEqual(['device.revoked', 'device.wipe_confirmed']);
    expect((await verifyAuditChain(t.app.db, tenant.id)).ok).toBe(true);
  });

  it('answers 404 for a device of another user or another tenant', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const colleague = await createUser(t.app.db, tenant.id);
    const stranger = await createUser(t.app.db, otherTenant.id);
    const session = await signInAs(t.app, user);
    const colleagueSession = await signInAs(t.app, colleague);
    const strangerSession = await signInAs(t.app, stranger);
    for (const target of [colleagueSession, strangerSession]) {
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/api/me/devices/${target.deviceId}`,
        headers: bearer(session),
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('DEVICE_NOT_FOUND');
      expect((await get('/api/me', target)).statusCode).toBe(200);
    }
  });

  it('wipe confirmation needs the device’s token', async () => {
    const none = await t.app.inject({ method: 'POST', url: '/api/auth/wipe-confirmed' });
    expect(none.json().code).toBe('AUTH_REQUIRED');
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/auth/wipe-confirmed',
      headers: { authorization: `Bearer ${'y'.repeat(43)}` },
    });
    expect(unknown.json().code).toBe('AUTH_TOKEN_INVALID');
  });

  it('logout signs out the current device without asking it to wipe', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signInAs(t.app, user);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: bearer(session),
    });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await get('/api/me', session)).json()).toMatchObject({
      code: 'DEVICE_REVOKED',
      details: { wipe: false },
    });
  });
});
