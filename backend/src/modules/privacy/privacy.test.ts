import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import {
  auditLog,
  chatConversations,
  chatMembers,
  chatMessages,
  connections,
  recoveryCodes,
  tenants,
  users,
  webauthnCredentials,
} from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createQualification,
  createTenant,
  createUnit,
  createUser,
  type TestTenant,
} from '../../test/factories.ts';
import { replaceRecoveryCodes } from '../auth/totp.ts';

let t: TestApp;
let tenant: TestTenant;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db, { name: 'FF Datenschutz' });
});
afterAll(async () => t?.close());

type Category = { key: string; fields: string[]; retention: number | null; visibleTo: string[] };

describe('GET /api/privacy', () => {
  it('describes what is stored, who sees it and for how long, from the tenant’s settings', async () => {
    await t.app.db
      .update(tenants)
      .set({
        retentionConnectionDays: 14,
        retentionAuditDays: 400,
        retentionInactiveDeviceDays: 60,
        retentionChatDays: 12,
      })
      .where(eq(tenants.id, tenant.id));
    const member = await createUser(t.app.db, tenant.id);
    const api = apiAs(t.app, (await createDeviceSession(t.app.db, member)).accessToken);
    const res = await api('GET', '/api/privacy');
    expect(res.statusCode).toBe(200);
    const body: { tenantName: string; retention: object; categories: Category[] } = res.json();
    expect(body.tenantName).toBe('FF Datenschutz');
    expect(body.retention).toEqual({
      connectionDays: 14,
      auditDays: 400,
      inactiveDeviceDays: 60,
      alarmDays: 365,
      trackHours: 24,
      recordingDays: 30,
      chatDays: 12,
    });
    const category = (key: string) => body.categories.find((c) => c.key === key)!;
    expect(category('connections')).toMatchObject({
      retention: 14,
      visibleTo: ['admin', 'auditor'],
    });
    expect(category('audit')).toMatchObject({ retention: 400, visibleTo: ['admin', 'auditor'] });
    expect(category('devices')).toMatchObject({ retention: 60, visibleTo: ['admin'] });
    expect(category('account')).toMatchObject({ retention: null, visibleTo: ['admin'] });
    // Positions: kept for hours, seen by dispatch and leads; alarms by the tenant's alarm days.
    expect(category('positions')).toMatchObject({
      retention: null,
      retentionHours: 24,
      visibleTo: ['admin', 'dispatcher', 'lead'],
    });
    expect(category('alarms')).toMatchObject({ retention: 365 });
    // Push-to-talk recordings and emergency calls: dispatch, leads and admins.
    expect(category('ptt')).toMatchObject({
      retention: 30,
      visibleTo: ['admin', 'dispatcher', 'lead'],
    });
    // Chat: metadata only (the server cannot read content), seen by admins and auditors.
    expect(category('chat')).toMatchObject({ retention: 12, visibleTo: ['admin', 'auditor'] });
    expect(category('chat').fields).toEqual(
      expect.arrayContaining(['conversations', 'messageMetadata', 'deviceKeys']),
    );
    expect(category('chat').fields.join()).not.toMatch(/content|payload|text/i);
    expect(category('profile')).toMatchObject({
      retention: null,
      visibleTo: ['admin', 'dispatcher', 'lead', 'member'],
    });
    expect(category('account').fields).toContain('email');
    const [viewed] = await t.app.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'privacy.info_viewed'));
    expect(viewed).toMatchObject({ actorUserId: member.id, tenantId: tenant.id });

    const auditorUser = await createUser(t.app.db, tenant.id, { role: 'auditor' });
    const auditor = apiAs(t.app, (await createDeviceSession(t.app.db, auditorUser)).accessToken);
    expect((await auditor('GET', '/api/privacy')).statusCode).toBe(200);
    expect((await apiAs(t.app, null)('GET', '/api/privacy')).statusCode).toBe(401);
  });
});

describe('GET /api/me/export', () => {
  it('downloads everything stored about me, without secrets, and is audited', async () => {
    const unit = await createUnit(t.app.db, tenant.id, { name: 'Export squad' });
    const q = await createQualification(t.app.db, tenant.id, 'Export tag');
    const me = await createUser(t.app.db, tenant.id, {
      role: 'dispatcher',
      unitIds: [unit.id],
      qualificationIds: [q.id],
    });
    const other = await createUser(t.app.db, tenant.id);
    const adminUser = await createUser(t.app.db, tenant.id, { role: 'admin' });
    const session = await createDeviceSession(t.app.db, me, { name: 'My phone', ip: '10.7.7.7' });
    await replaceRecoveryCodes(t.app.db, tenant.id, me.id);
    await t.app.db.insert(webauthnCredentials).values({
      id: 'export-passkey',
      tenantId: tenant.id,
      userId: me.id,
      name: 'My key',
      publicKey: 'PUBLIC-KEY-MATERIAL',
      transports: ['usb'],
      createdAt: new Date(),
    });
    const now = new Date();
    await t.app.db.insert(connections).values([
      {
        tenantId: tenant.id,
        userId: me.id,
        deviceId: session.deviceId,
        ip: '10.7.7.7',
        userAgent: 'UA',
        connectedAt: now,
      },
      {
        tenantId: tenant.id,
        userId: other.id,
        deviceId: 'x',
        ip: '10.8.8.8',
        userAgent: 'UA',
        connectedAt: now,
      },
    ]);
    // An admin reads my account: that record is about me, but the admin's address is theirs.
    const adminApi = apiAs(
      t.app,
      (await createDeviceSession(t.app.db, adminUser, { ip: '10.9.9.9' })).accessToken,
    );
    await adminApi('GET', `/api/users/${me.id}`);
    // An alarm I answered and my availability are mine to see too.
    const alarm = await adminApi('POST', '/api/alarms', {
      keyword: 'Export B1',
      targets: { userIds: [me.id] },
    });
    const alarmId = alarm.json<{ alarm: { id: string } }>().alarm.id;
    const mine = apiAs(t.app, session.accessToken);
    await mine('POST', `/api/me/alarms/${alarmId}/response`, { response: 'coming', etaMinutes: 7 });
    await mine('PUT', '/api/me/availability', { status: 'limited' });

    // A chat message I sent, and one someone else sent: only mine is listed, never content.
    const joinedAt = new Date(Date.now() - 60_000);
    await t.app.db.insert(chatConversations).values({
      id: 'export-chat',
      tenantId: tenant.id,
      kind: 'group',
      title: 'Export crew',
      createdBy: me.id,
      lastSeq: 2,
      createdAt: joinedAt,
      updatedAt: joinedAt,
    });
    await t.app.db.insert(chatMembers).values([
      { conversationId: 'export-chat', userId: me.id, tenantId: tenant.id, joinedAt },
      { conversationId: 'export-chat', userId: other.id, tenantId: tenant.id, joinedAt },
    ]);
    const sentAt = new Date();
    await t.app.db.insert(chatMessages).values([
      {
        id: 'export-msg-mine',
        tenantId: tenant.id,
        conversationId: 'export-chat',
        seq: 1,
        kind: 'application',
        epoch: 1,
        senderUserId: me.id,
        senderDeviceId: session.deviceId,
        payload: 'MY-CIPHERTEXT-BYTES',
        size: 321,
        createdAt: sentAt,
      },
      {
        id: 'export-msg-theirs',
        tenantId: tenant.id,
        conversationId: 'export-chat',
        seq: 2,
        kind: 'application',
        epoch: 1,
        senderUserId: other.id,
        senderDeviceId: 'their-device',
        payload: 'THEIR-CIPHERTEXT-BYTES',
        size: 654,
        createdAt: sentAt,
      },
    ]);

    const res = await apiAs(t.app, session.accessToken)('GET', '/api/me/export');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="trupp-export-\d{4}-\d{2}-\d{2}\.json"$/,
    );
    const data = res.json();
    expect(data.account).toMatchObject({
      id: me.id,
      email: me.email,
      role: 'dispatcher',
      tenantName: 'FF Datenschutz',
      hasPassword: true,
    });
    expect(data.units).toEqual([{ id: unit.id, name: 'Export squad' }]);
    expect(data.qualifications).toEqual([{ id: q.id, name: 'Export tag' }]);
    expect(data.devices).toEqual([
      expect.objectContaining({ id: session.deviceId, name: 'My phone', lastIp: '10.7.7.7' }),
    ]);
    expect(data.passkeys).toEqual([
      expect.objectContaining({ id: 'export-passkey', name: 'My key', transports: ['usb'] }),
    ]);
    expect(data.recoveryCodes).toHaveLength(10);
    expect(data.connections.map((c: { ip: string }) => c.ip)).toEqual(['10.7.7.7']);
    expect(data.alarms).toEqual([
      expect.objectContaining({ alarmId, keyword: 'Export B1', response: 'coming', etaMinutes: 7 }),
    ]);
    expect(data.availability).toMatchObject({ status: 'limited' });
    expect(data.positions).toEqual([]);
    expect(data.chat).toEqual({
      conversations: [
        {
          id: 'export-chat',
          kind: 'group',
          title: 'Export crew',
          joinedAt: joinedAt.toISOString(),
        },
      ],
      messagesSent: [
        {
          conversationId: 'export-chat',
          seq: 1,
          kind: 'application',
          size: 321,
          createdAt: sentAt.toISOString(),
        },
      ],
    });
    expect(data.chat.messagesSent[0]).not.toHaveProperty('payload');
    expect(res.body).not.toContain('CIPHERTEXT');

    const actions = data.auditRecords.map((r: { action: string }) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['user.read', 'privacy.export_downloaded']));
    const adminRead = data.auditRecords.find((r: { action: string }) => r.action === 'user.read');
    expect(adminRead).toMatchObject({ actorUserId: adminUser.id, actorIp: null, targetId: me.id });

    const [row] = await t.app.db.select().from(users).where(eq(users.id, me.id));
    const codes = await t.app.db
      .select()
      .from(recoveryCodes)
      .where(eq(recoveryCodes.userId, me.id));
    for (const secret of [
      row!.passwordHash!,
      row!.totpSecret!,
      'PUBLIC-KEY-MATERIAL',
      codes[0]!.codeHash,
    ]) {
      expect(res.body).not.toContain(secret);
    }
    expect(res.body).not.toContain('10.9.9.9');
    expect(res.body).not.toContain(other.id);
  });

  it('is for the signed-in user only', async () => {
    expect((await apiAs(t.app, null)('GET', '/api/me/export')).statusCode).toBe(401);
  });
});
