import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, tenants, users } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUser,
  type TestTenant,
} from '../../test/factories.ts';
import { verifyAuditChain } from '../audit/service.ts';

let t: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let admin: ReturnType<typeof apiAs>;
let operator: ReturnType<typeof apiAs>;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db);
  other = await createTenant(t.app.db);
  admin = await as(await createUser(t.app.db, tenant.id, { role: 'admin' }));
  operator = await as(await createUser(t.app.db, other.id, { role: 'admin', isSuperadmin: true }));
});
afterAll(async () => t?.close());

async function as(user: Awaited<ReturnType<typeof createUser>>) {
  return apiAs(t.app, (await createDeviceSession(t.app.db, user)).accessToken);
}

describe('GET /api/tenant', () => {
  it('shows every signed-in user their own organisation and its settings', async () => {
    for (const role of ['member', 'auditor'] as const) {
      const res = await (
        await as(await createUser(t.app.db, tenant.id, { role }))
      )('GET', '/api/tenant');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        id: tenant.id,
        name: tenant.name,
        slug: tenant.slug,
        timezone: 'Europe/Berlin',
        retentionConnectionDays: 90,
        retentionAuditDays: 730,
        retentionInactiveDeviceDays: 180,
        retentionTrackHours: 24,
        retentionAlarmDays: 365,
        retentionRecordingDays: 30,
        retentionChatDays: 30,
        chatUploadMb: 25,
        positionShareOnDuty: false,
      });
    }
    expect((await apiAs(t.app, null)('GET', '/api/tenant')).statusCode).toBe(401);
  });
});

describe('PATCH /api/tenant', () => {
  it('changes name, time zone and retention, auditing old and new values', async () => {
    const res = await admin('PATCH', '/api/tenant', {
      name: 'FF Nordstadt',
      timezone: 'America/New_York',
      retentionConnectionDays: 30,
      retentionAuditDays: 365,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'FF Nordstadt',
      timezone: 'America/New_York',
      retentionConnectionDays: 30,
      retentionAuditDays: 365,
      retentionInactiveDeviceDays: 180,
    });
    const [record] = await t.app.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'tenant.settings_changed'));
    expect(record).toMatchObject({ tenantId: tenant.id, targetId: tenant.id });
    expect(record!.details).toEqual({
      changes: {
        name: { from: tenant.name, to: 'FF Nordstadt' },
        timezone: { from: 'Europe/Berlin', to: 'America/New_York' },
        retentionConnectionDays: { from: 90, to: 30 },
        retentionAuditDays: { from: 730, to: 365 },
      },
    });
    const [untouched] = await t.app.db.select().from(tenants).where(eq(tenants.id, other.id));
    expect(untouched!.retentionConnectionDays).toBe(90);
  });

  it('changes chat retention and the attachment limit, audited like the other settings', async () => {
    const res = await admin('PATCH', '/api/tenant', { retentionChatDays: 7, chatUploadMb: 200 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ retentionChatDays: 7, chatUploadMb: 200 });
    const [row] = await t.app.db.select().from(tenants).where(eq(tenants.id, tenant.id));
    expect(row).toMatchObject({ retentionChatDays: 7, chatUploadMb: 200 });
    const records = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.action, 'tenant.settings_changed')))
      .orderBy(auditLog.seq);
    expect(records.at(-1)!.details).toEqual({
      changes: {
        retentionChatDays: { from: 30, to: 7 },
        chatUploadMb: { from: 25, to: 200 },
      },
    });
    // The platform operators' list shows them too.
    const list: { id: string; retentionChatDays: number; chatUploadMb: number }[] = (
      await operator('GET', '/api/tenants')
    ).json();
    expect(list.find((x) => x.id === tenant.id)).toMatchObject({
      retentionChatDays: 7,
      chatUploadMb: 200,
    });
  });

  it('refuses unknown time zones and retention outside sane bounds', async () => {
    const zone = await admin('PATCH', '/api/tenant', { timezone: 'Mars/Olympus_Mons' });
    expect(zone.statusCode).toBe(400);
    expect(zone.json().code).toBe('TENANT_TIMEZONE_INVALID');
    for (const body of [
      { retentionConnectionDays: 0 },
      { retentionAuditDays: 7 },
      { retentionInactiveDeviceDays: 4000 },
      { retentionAuditDays: 'forever' },
      { retentionChatDays: 0 },
      { retentionChatDays: 3651 },
      { retentionChatDays: 1.5 },
      { chatUploadMb: 0 },
      { chatUploadMb: 201 },
      { chatUploadMb: '25' },
      { slug: 'new-slug', name: 'x'.repeat(201) },
    ]) {
      const res = await admin('PATCH', '/api/tenant', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
    const current = (await admin('GET', '/api/tenant')).json();
    expect(current).toMatchObject({
      slug: tenant.slug,
      timezone: 'America/New_York',
      retentionChatDays: 7,
      chatUploadMb: 200,
    });
  });

  it('is for admins only', async () => {
    const dispatcher = await as(await createUser(t.app.db, tenant.id, { role: 'dispatcher' }));
    const res = await dispatcher('PATCH', '/api/tenant', { retentionAuditDays: 31 });
    expect(res.statusCode).toBe(403);
  });
});

describe('platform operators', () => {
  it('list every tenant with its number of users', async () => {
    const res = await operator('GET', '/api/tenants');
    expect(res.statusCode).toBe(200);
    const list: { id: string; userCount: number }[] = res.json();
    const countOf = async (id: string) =>
      (await t.app.db.select().from(users).where(eq(users.tenantId, id))).length;
    expect(await countOf(tenant.id)).toBeGreaterThan(0);
    expect(list.find((x) => x.id === tenant.id)!.userCount).toBe(await countOf(tenant.id));
    expect(list.find((x) => x.id === other.id)!.userCount).toBe(await countOf(other.id));
  });

  it('create a tenant whose first admin gets an invitation link', async () => {
    const res = await operator('POST', '/api/tenants', {
      name: 'THW Ortsverband',
      slug: 'thw-ov',
      adminEmail: 'Chief@THW.example',
      adminDisplayName: 'Chief',
    });
    expect(res.statusCode, res.body).toBe(201);
    const { tenant: created, inviteUrl } = res.json();
    expect(created).toMatchObject({ name: 'THW Ortsverband', slug: 'thw-ov' });
    const token = inviteUrl.slice(`${t.config.publicUrl}/link/`.length);
    const info = await t.app.inject({ method: 'GET', url: `/api/links/${token}` });
    expect(info.json()).toEqual({
      purpose: 'invite',
      email: 'chief@thw.example',
      displayName: 'Chief',
      tenantName: 'THW Ortsverband',
    });
    const accept = await t.app.inject({
      method: 'POST',
      url: `/api/links/${token}/accept`,
      payload: { password: 'a-long-enough-password' },
    });
    expect(accept.statusCode).toBe(204);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'chief@thw.example', password: 'a-long-enough-password' },
    });
    expect(login.json()).toMatchObject({
      status: 'ok',
      session: { mfaEnrolmentRequired: true, user: { role: 'admin', tenantId: created.id } },
    });
    const records = await t.app.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.tenantId, created.id))
      .orderBy(auditLog.seq);
    expect(records.slice(0, 3).map((r) => r.action)).toEqual([
      'tenant.created',
      'user.created',
      'user.invited',
    ]);
    expect((await verifyAuditChain(t.app.db, created.id)).ok).toBe(true);
  });

  it('refuse a taken slug or email and leave nothing half-created', async () => {
    const slug = await operator('POST', '/api/tenants', {
      name: 'Dup',
      slug: tenant.slug,
      adminEmail: 'fresh@example.org',
      adminDisplayName: 'Fresh',
    });
    expect(slug.statusCode).toBe(409);
    expect(slug.json().code).toBe('TENANT_SLUG_TAKEN');
    const existing = await createUser(t.app.db, tenant.id);
    const email = await operator('POST', '/api/tenants', {
      name: 'Half',
      slug: 'half-made',
      adminEmail: existing.email,
      adminDisplayName: 'Half',
    });
    expect(email.statusCode).toBe(409);
    expect(email.json().code).toBe('USER_EMAIL_TAKEN');
    expect(await t.app.db.select().from(tenants).where(eq(tenants.slug, 'half-made'))).toEqual([]);
    for (const bad of ['A', 'Has Space', '-dash', 'UPPER', 'x'.repeat(65)]) {
      const res = await operator('POST', '/api/tenants', {
        name: 'Bad',
        slug: bad,
        adminEmail: 'bad@example.org',
        adminDisplayName: 'Bad',
      });
      expect(res.statusCode, bad).toBe(400);
    }
  });

  it('are the only ones who can list or create tenants', async () => {
    for (const [method, url] of [
      ['GET', '/api/tenants'],
      ['POST', '/api/tenants'],
    ] as const) {
      const res = await admin(method, url, {
        name: 'X',
        slug: 'x-x',
        adminEmail: 'x@example.org',
        adminDisplayName: 'X',
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('AUTH_SUPERADMIN_REQUIRED');
    }
  });
});
