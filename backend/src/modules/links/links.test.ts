import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, devices, oneTimeLinks, tenants, users } from '../../db/schema.ts';
import { sha256Hex } from '../../lib/tokens.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  createTenant,
  createUser,
  signIn,
  signInAs,
  type TestTenant,
  type TestUser,
} from '../../test/factories.ts';
import { INVITE_TTL_MS, SETUP_TTL_MS, issueLink } from './repository.ts';

const NEW_PASSWORD = 'brand-new-password-1';

let t: TestApp;
let tenant: TestTenant;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db, { name: 'FF Linkstadt' });
});
afterAll(async () => t?.close());

async function invite(user: TestUser, purpose: 'invite' | 'password_reset' = 'invite') {
  return issueLink(t.app.db, {
    tenantId: user.tenantId,
    userId: user.id,
    purpose,
    ttlMs: INVITE_TTL_MS,
    createdBy: null,
  });
}

const describeLink = (app: TestApp, token: string) =>
  app.app.inject({ method: 'GET', url: `/api/links/${token}` });
const accept = (app: TestApp, token: string, payload: object) =>
  app.app.inject({ method: 'POST', url: `/api/links/${token}/accept`, payload });

describe('invitation links', () => {
  it('greet the invitee, set the password once, and are audited', async () => {
    const person = await createUser(t.app.db, tenant.id, {
      password: null,
      displayName: 'Ina Invite',
    });
    const token = await invite(person);
    const info = await describeLink(t, token);
    expect(info.statusCode).toBe(200);
    expect(info.json()).toEqual({
      purpose: 'invite',
      email: person.email,
      displayName: 'Ina Invite',
      tenantName: 'FF Linkstadt',
    });

    expect((await accept(t, token, { password: NEW_PASSWORD })).statusCode).toBe(204);
    await expect(signIn(t.app, person.email, NEW_PASSWORD)).resolves.toMatchObject({
      user: { id: person.id },
    });
    const again = await accept(t, token, { password: 'another-password-2' });
    expect(again.statusCode).toBe(410);
    expect(again.json().code).toBe('INVITE_INVALID');
    expect((await describeLink(t, token)).statusCode).toBe(410);
    const [record] = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, person.id), eq(auditLog.action, 'user.invite_accepted')));
    expect(record).toMatchObject({ actorUserId: person.id, tenantId: tenant.id });
  });

  it('refuse a weak password and stay usable', async () => {
    const person = await createUser(t.app.db, tenant.id, { password: null });
    const token = await invite(person);
    const weak = await accept(t, token, { password: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().code).toBe('AUTH_WEAK_PASSWORD');
    expect((await accept(t, token, { password: NEW_PASSWORD })).statusCode).toBe(204);
  });

  it('are used exactly once even when accepted twice at the same moment', async () => {
    const person = await createUser(t.app.db, tenant.id, { password: null });
    const token = await invite(person);
    const results = await Promise.all([
      accept(t, token, { password: 'first-password-aaa' }),
      accept(t, token, { password: 'second-password-bbb' }),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([204, 410]);
  });

  it('answer 410 when unknown, expired, or for a deactivated user', async () => {
    for (const token of ['no-such-token', 'x'.repeat(100)]) {
      const res = await describeLink(t, token);
      expect(res.statusCode).toBe(410);
      expect(res.json().code).toBe('INVITE_INVALID');
    }
    const late = await createUser(t.app.db, tenant.id, { password: null });
    const expired = await invite(late);
    await t.app.db
      .update(oneTimeLinks)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(oneTimeLinks.tokenHash, sha256Hex(expired)));
    expect((await describeLink(t, expired)).statusCode).toBe(410);
    expect((await accept(t, expired, { password: NEW_PASSWORD })).statusCode).toBe(410);

    const inactive = await createUser(t.app.db, tenant.id, { password: null, active: false });
    const dead = await invite(inactive);
    expect((await accept(t, dead, { password: NEW_PASSWORD })).statusCode).toBe(410);
    const [row] = await t.app.db.select().from(users).where(eq(users.id, inactive.id));
    expect(row!.passwordHash).toBeNull();
  });

  it('validate the body', async () => {
    const person = await createUser(t.app.db, tenant.id, { password: null });
    const token = await invite(person);
    for (const body of [{}, { password: 42 }, { password: 'x'.repeat(1001) }]) {
      expect((await accept(t, token, body)).statusCode, JSON.stringify(body)).toBe(400);
    }
  });
});

describe('password reset links', () => {
  it('set a new password and sign out every device (without wiping it)', async () => {
    const person = await createUser(t.app.db, tenant.id);
    const session = await signInAs(t.app, person);
    const token = await invite(person, 'password_reset');
    expect((await describeLink(t, token)).json().purpose).toBe('password_reset');
    expect((await accept(t, token, { password: NEW_PASSWORD })).statusCode).toBe(204);
    const [device] = await t.app.db.select().from(devices).where(eq(devices.id, session.deviceId));
    expect(device!.revokedAt).not.toBeNull();
    expect(device!.wipeRequested).toBe(false);
    await expect(signIn(t.app, person.email, NEW_PASSWORD)).resolves.toBeDefined();
    const actions = await t.app.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.targetId, person.id));
    expect(actions.map((a) => a.action)).toContain('auth.password_reset');
  });
});

describe('the first-admin setup link', () => {
  let fresh: TestApp;
  beforeAll(async () => {
    fresh = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  });
  afterAll(async () => fresh?.close());

  const setupLink = () =>
    issueLink(fresh.app.db, {
      tenantId: null,
      userId: null,
      purpose: 'setup',
      ttlMs: SETUP_TTL_MS,
      createdBy: null,
    });
  const setupBody = {
    tenantName: 'Berufsfeuerwehr Beispiel',
    tenantSlug: 'bf-beispiel',
    email: 'Chief@BF.example',
    displayName: 'Chief Officer',
    password: NEW_PASSWORD,
  };

  it('creates the organisation and its admin, a platform operator, in one go', async () => {
    const token = await setupLink();
    expect((await describeLink(fresh, token)).json()).toEqual({
      purpose: 'setup',
      email: null,
      displayName: null,
      tenantName: null,
    });
    const incomplete = await accept(fresh, token, { password: NEW_PASSWORD });
    expect(incomplete.statusCode).toBe(400);
    expect(incomplete.json().code).toBe('VALIDATION_FAILED');
    expect(await fresh.app.db.select().from(tenants)).toEqual([]);

    expect((await accept(fresh, token, setupBody)).statusCode).toBe(204);
    const [admin] = await fresh.app.db.select().from(users);
    expect(admin).toMatchObject({
      email: 'chief@bf.example',
      role: 'admin',
      isSuperadmin: true,
      active: true,
    });
    const [tenantRow] = await fresh.app.db.select().from(tenants);
    expect(tenantRow).toMatchObject({ name: 'Berufsfeuerwehr Beispiel', slug: 'bf-beispiel' });
    const login = await fresh.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'chief@bf.example', password: NEW_PASSWORD },
    });
    expect(login.json()).toMatchObject({
      status: 'ok',
      session: { mfaEnrolmentRequired: true, user: { isSuperadmin: true } },
    });
    expect((await accept(fresh, token, setupBody)).statusCode).toBe(410);
  });

  it('refuses once any user exists', async () => {
    const token = await setupLink();
    const info = await describeLink(fresh, token);
    expect(info.statusCode).toBe(409);
    expect(info.json().code).toBe('SETUP_ALREADY_DONE');
    const res = await accept(fresh, token, {
      ...setupBody,
      tenantSlug: 'second',
      email: 'b@x.org',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('SETUP_ALREADY_DONE');
    expect(await fresh.app.db.select().from(tenants)).toHaveLength(1);
  });
});
