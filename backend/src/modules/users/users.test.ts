import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import type { Role } from '@trupp/shared';
import {
  auditLog,
  devices,
  oneTimeLinks,
  recoveryCodes,
  tenants,
  users,
  webauthnCredentials,
} from '../../db/schema.ts';
import type { DomainEvents } from '../../lib/bus.ts';
import { sha256Hex } from '../../lib/tokens.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  TEST_PASSWORD,
  apiAs,
  createDeviceSession,
  createQualification,
  createTenant,
  createUnit,
  createUser,
  signInAs,
  type TestTenant,
  type TestUser,
} from '../../test/factories.ts';
import { replaceRecoveryCodes } from '../auth/totp.ts';
import { updateUser } from './service.ts';

let t: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let adminUser: TestUser;
let admin: ReturnType<typeof apiAs>;

type Summary = {
  id: string;
  displayName: string;
  role: Role;
  active: boolean;
  unitIds: string[];
  qualificationIds: string[];
};
type Detail = Summary & {
  email: string;
  totpEnabled: boolean;
  passkeyCount: number;
  lastLoginAt: string | null;
  createdAt: string;
  activeDeviceCount: number;
  invitePending: boolean;
};

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db);
  other = await createTenant(t.app.db);
  adminUser = await createUser(t.app.db, tenant.id, { role: 'admin' });
  admin = await as(adminUser);
});
afterAll(async () => t?.close());

async function as(user: TestUser) {
  return apiAs(t.app, (await createDeviceSession(t.app.db, user)).accessToken);
}

async function auditOf(targetId: string) {
  return t.app.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.targetId, targetId)))
    .orderBy(auditLog.seq);
}

function collect<K extends keyof DomainEvents>(event: K) {
  const seen: DomainEvents[K][] = [];
  const off = t.app.bus.on(event, (payload) => seen.push(payload));
  return { seen, off };
}

async function createViaApi(body: Record<string, unknown>) {
  const res = await admin('POST', '/api/users', body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ user: Detail; inviteUrl: string }>();
}

describe('GET /api/users', () => {
  it('lists members with units and qualifications, filtered by unit, role, name and activity', async () => {
    const unit = await createUnit(t.app.db, tenant.id);
    const q = await createQualification(t.app.db, tenant.id);
    const zora = await createUser(t.app.db, tenant.id, {
      displayName: 'Zora Listtest',
      role: 'lead',
      unitIds: [unit.id],
      qualificationIds: [q.id],
      email: 'zora.hidden@example.org',
    });
    const yann = await createUser(t.app.db, tenant.id, { displayName: 'Yann Listtest' });
    const gone = await createUser(t.app.db, tenant.id, {
      displayName: 'Xaver Listtest',
      active: false,
    });
    const stranger = await createUser(t.app.db, other.id, { displayName: 'Foreign Listtest' });
    const reader = await as(await createUser(t.app.db, tenant.id));

    const all: Summary[] = (await reader('GET', '/api/users?q=listtest')).json();
    expect(all.map((u) => u.id)).toEqual([yann.id, zora.id]);
    expect(all[1]).toEqual({
      id: zora.id,
      displayName: 'Zora Listtest',
      role: 'lead',
      active: true,
      unitIds: [unit.id],
      qualificationIds: [q.id],
    });
    expect(JSON.stringify(all)).not.toContain('zora.hidden');
    const withInactive: Summary[] = (
      await reader('GET', '/api/users?q=listtest&includeInactive=true')
    ).json();
    expect(withInactive.map((u) => u.id)).toEqual([gone.id, yann.id, zora.id]);
    expect(withInactive.map((u) => u.id)).not.toContain(stranger.id);

    const byUnit: Summary[] = (await reader('GET', `/api/users?unitId=${unit.id}`)).json();
    expect(byUnit.map((u) => u.id)).toEqual([zora.id]);
    const byRole: Summary[] = (await reader('GET', '/api/users?role=lead&q=listtest')).json();
    expect(byRole.map((u) => u.id)).toEqual([zora.id]);
  });

  it('lets only admins find people by email address', async () => {
    const target = await createUser(t.app.db, tenant.id, { email: 'findme.by.mail@example.org' });
    const reader = await as(await createUser(t.app.db, tenant.id));
    expect((await reader('GET', '/api/users?q=findme.by.mail')).json()).toEqual([]);
    const found: Summary[] = (await admin('GET', '/api/users?q=findme.by.mail')).json();
    expect(found.map((u) => u.id)).toEqual([target.id]);
  });

  it('treats % and _ in the search as plain characters', async () => {
    await createUser(t.app.db, tenant.id, { displayName: 'Percent Person' });
    expect((await admin('GET', '/api/users?q=%25')).json()).toEqual([]);
    expect((await admin('GET', '/api/users?q=_')).json()).toEqual([]);
  });

  it('answers 404 for a unit filter of another tenant; auditors may not read', async () => {
    const foreign = await createUnit(t.app.db, other.id);
    const res = await admin('GET', `/api/users?unitId=${foreign.id}`);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('UNIT_NOT_FOUND');
    const auditor = await as(await createUser(t.app.db, tenant.id, { role: 'auditor' }));
    expect((await auditor('GET', '/api/users')).statusCode).toBe(403);
  });
});

describe('GET /api/users/:userId', () => {
  it('shows an admin the account details and audits the read', async () => {
    const unit = await createUnit(t.app.db, tenant.id);
    const person = await createUser(t.app.db, tenant.id, {
      role: 'dispatcher',
      unitIds: [unit.id],
    });
    await createDeviceSession(t.app.db, person);
    const res = await admin('GET', `/api/users/${person.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: person.id,
      email: person.email,
      role: 'dispatcher',
      unitIds: [unit.id],
      totpEnabled: true,
      passkeyCount: 0,
      activeDeviceCount: 1,
      invitePending: false,
      lastLoginAt: null,
    });
    expect(res.json()).not.toHaveProperty('passwordHash');
    expect(res.json()).not.toHaveProperty('totpSecret');
    const records = await auditOf(person.id);
    expect(records.map((r) => r.action)).toEqual(['user.read']);
    expect(records[0]!.actorUserId).toBe(adminUser.id);
  });

  it('answers 404 for another tenant’s user, without an audit record; 403 for non-admins', async () => {
    const stranger = await createUser(t.app.db, other.id);
    const res = await admin('GET', `/api/users/${stranger.id}`);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('USER_NOT_FOUND');
    expect(await auditOf(stranger.id)).toEqual([]);
    const lead = await as(await createUser(t.app.db, tenant.id, { role: 'lead' }));
    expect((await lead('GET', `/api/users/${adminUser.id}`)).statusCode).toBe(403);
  });
});

describe('POST /api/users', () => {
  it('creates an invited user with units and qualifications and a 7-day link', async () => {
    const unit = await createUnit(t.app.db, tenant.id);
    const q = await createQualification(t.app.db, tenant.id);
    const directory = collect('directory.changed');
    const [before] = await t.app.db.select().from(tenants).where(eq(tenants.id, tenant.id));

    const { user, inviteUrl } = await createViaApi({
      email: 'New.Person@Example.ORG',
      displayName: 'New Person',
      role: 'lead',
      unitIds: [unit.id],
      qualificationIds: [q.id],
    });
    directory.off();

    expect(user).toMatchObject({
      email: 'new.person@example.org',
      displayName: 'New Person',
      role: 'lead',
      active: true,
      unitIds: [unit.id],
      qualificationIds: [q.id],
      invitePending: true,
      totpEnabled: false,
    });
    const prefix = `${t.config.publicUrl}/link/`;
    expect(inviteUrl.startsWith(prefix)).toBe(true);
    const token = inviteUrl.slice(prefix.length);
    const [link] = await t.app.db
      .select()
      .from(oneTimeLinks)
      .where(eq(oneTimeLinks.tokenHash, sha256Hex(token)));
    expect(link).toMatchObject({ purpose: 'invite', userId: user.id, tenantId: tenant.id });
    const days = (link!.expiresAt.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    const info = await t.app.inject({ method: 'GET', url: `/api/links/${token}` });
    expect(info.json()).toMatchObject({ purpose: 'invite', email: 'new.person@example.org' });

    expect((await auditOf(user.id)).map((r) => r.action)).toEqual(['user.created', 'user.invited']);
    const [after] = await t.app.db.select().from(tenants).where(eq(tenants.id, tenant.id));
    expect(after!.directoryVersion).toBeGreaterThan(before!.directoryVersion);
    expect(directory.seen).toEqual([{ tenantId: tenant.id }]);
  });

  it('refuses an email address in use anywhere in the installation', async () => {
    const elsewhere = await createUser(t.app.db, other.id, { email: 'taken@example.org' });
    const res = await admin('POST', '/api/users', {
      email: 'TAKEN@example.org',
      displayName: 'Copycat',
      role: 'member',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('USER_EMAIL_TAKEN');
    expect(elsewhere.email).toBe('taken@example.org');
  });

  it('refuses units and qualifications of another tenant and writes nothing', async () => {
    const foreignUnit = await createUnit(t.app.db, other.id);
    const foreignQ = await createQualification(t.app.db, other.id);
    const unitRes = await admin('POST', '/api/users', {
      email: 'half.written@example.org',
      displayName: 'Half',
      role: 'member',
      unitIds: [foreignUnit.id],
    });
    expect(unitRes.statusCode).toBe(404);
    expect(unitRes.json().code).toBe('UNIT_NOT_FOUND');
    const qRes = await admin('POST', '/api/users', {
      email: 'half.written@example.org',
      displayName: 'Half',
      role: 'member',
      qualificationIds: [foreignQ.id],
    });
    expect(qRes.statusCode).toBe(404);
    expect(qRes.json().code).toBe('QUALIFICATION_NOT_FOUND');
    expect(
      await t.app.db.select().from(users).where(eq(users.email, 'half.written@example.org')),
    ).toEqual([]);
  });

  it('validates email, role and name; only admins may create', async () => {
    for (const body of [
      { email: 'not-an-email', displayName: 'X', role: 'member' },
      { email: 'ok@example.org', displayName: 'X', role: 'king' },
      { email: 'ok@example.org', displayName: '  ', role: 'member' },
      { email: 'ok@example.org', role: 'member' },
    ]) {
      const res = await admin('POST', '/api/users', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    const dispatcher = await as(await createUser(t.app.db, tenant.id, { role: 'dispatcher' }));
    const res = await dispatcher('POST', '/api/users', {
      email: 'ok@example.org',
      displayName: 'X',
      role: 'member',
    });
    expect(res.statusCode).toBe(403);
  });
});

describe('PATCH /api/users/:userId', () => {
  it('changes name, role, units and qualifications, auditing each and telling listeners', async () => {
    const [u1, u2] = [await createUnit(t.app.db, tenant.id), await createUnit(t.app.db, tenant.id)];
    const q = await createQualification(t.app.db, tenant.id);
    const person = await createUser(t.app.db, tenant.id, { unitIds: [u1.id] });
    const userChanged = collect('user.changed');
    const res = await admin('PATCH', `/api/users/${person.id}`, {
      displayName: 'Renamed Person',
      role: 'lead',
      unitIds: [u2.id],
      qualificationIds: [q.id],
    });
    userChanged.off();
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      displayName: 'Renamed Person',
      role: 'lead',
      unitIds: [u2.id],
      qualificationIds: [q.id],
    });
    const records = await auditOf(person.id);
    expect(records.map((r) => r.action)).toEqual([
      'user.display_name_changed',
      'user.role_changed',
      'user.units_changed',
      'user.qualifications_changed',
    ]);
    expect(records[1]!.details).toEqual({ from: 'member', to: 'lead' });
    expect(records[2]!.details).toEqual({ added: [u2.id], removed: [u1.id] });
    expect(userChanged.seen).toEqual([{ tenantId: tenant.id, userId: person.id }]);
  });

  it('makes a promoted user without TOTP enrol it before doing anything else', async () => {
    const person = await createUser(t.app.db, tenant.id);
    const personApi = await as(person);
    expect((await personApi('GET', '/api/units')).statusCode).toBe(200);
    await admin('PATCH', `/api/users/${person.id}`, { role: 'dispatcher' });
    const res = await personApi('GET', '/api/units');
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('AUTH_MFA_ENROLMENT_REQUIRED');
  });

  it('refuses changing one’s own role or deactivating oneself, but allows one’s own name', async () => {
    for (const body of [{ role: 'member' }, { active: false }]) {
      const res = await admin('PATCH', `/api/users/${adminUser.id}`, body);
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('USER_SELF_CHANGE_FORBIDDEN');
    }
    const same = await admin('PATCH', `/api/users/${adminUser.id}`, {
      role: 'admin',
      displayName: 'Chief Admin',
    });
    expect(same.statusCode).toBe(200);
    expect(same.json()).toMatchObject({ role: 'admin', active: true, displayName: 'Chief Admin' });
  });

  it('deactivates: every device signed out with a wipe, hidden from the directory; reactivates', async () => {
    const person = await createUser(t.app.db, tenant.id);
    const session = await signInAs(t.app, person);
    const revoked = collect('device.revoked');
    const res = await admin('PATCH', `/api/users/${person.id}`, { active: false });
    revoked.off();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ active: false, activeDeviceCount: 0 });
    expect(revoked.seen).toEqual([
      expect.objectContaining({ deviceId: session.deviceId, wipe: true, reason: 'deactivated' }),
    ]);
    const [device] = await t.app.db.select().from(devices).where(eq(devices.id, session.deviceId));
    expect(device).toMatchObject({ revokeReason: 'deactivated', wipeRequested: true });
    const call = await apiAs(t.app, session.accessToken)('GET', '/api/me');
    expect(call.json()).toMatchObject({ code: 'DEVICE_REVOKED', details: { wipe: true } });
    const listed: Summary[] = (await admin('GET', '/api/users')).json();
    expect(listed.map((u) => u.id)).not.toContain(person.id);
    await expect(signInAs(t.app, person)).rejects.toThrow(/AUTH_INVALID_CREDENTIALS/);

    const back = await admin('PATCH', `/api/users/${person.id}`, { active: true });
    expect(back.json().active).toBe(true);
    await expect(signInAs(t.app, person)).resolves.toMatchObject({ user: { id: person.id } });
    expect((await auditOf(person.id)).map((r) => r.action)).toEqual(
      expect.arrayContaining(['user.deactivated', 'user.reactivated']),
    );
    expect((await auditOf(session.deviceId)).map((r) => r.action)).toEqual(['device.revoked']);
  });

  it('refuses units of another tenant and changes nothing else in that request', async () => {
    const foreign = await createUnit(t.app.db, other.id);
    const person = await createUser(t.app.db, tenant.id, { displayName: 'Stays Same' });
    const res = await admin('PATCH', `/api/users/${person.id}`, {
      displayName: 'Changed',
      role: 'lead',
      unitIds: [foreign.id],
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('UNIT_NOT_FOUND');
    const [row] = await t.app.db.select().from(users).where(eq(users.id, person.id));
    expect(row).toMatchObject({ displayName: 'Stays Same', role: 'member' });
    expect(await auditOf(person.id)).toEqual([]);
  });

  it('answers 404 for another tenant’s user', async () => {
    const stranger = await createUser(t.app.db, other.id);
    const res = await admin('PATCH', `/api/users/${stranger.id}`, { role: 'admin' });
    expect(res.statusCode).toBe(404);
    const [row] = await t.app.db.select().from(users).where(eq(users.id, stranger.id));
    expect(row!.role).toBe('member');
  });

  it('keeps at least one active admin, checked against the database at commit time', async () => {
    // Over HTTP the caller is always another active admin; the rule matters when two
    // admins demote each other at once. The service sees such a caller as already demoted.
    const solo = await createTenant(t.app.db);
    const onlyAdmin = await createUser(t.app.db, solo.id, { role: 'admin' });
    const demotedCaller = await createUser(t.app.db, solo.id, { role: 'member' });
    const actor = { userId: demotedCaller.id };
    for (const patch of [{ role: 'member' as const }, { active: false }]) {
      await expect(updateUser(t.app, solo.id, actor, onlyAdmin.id, patch)).rejects.toMatchObject({
        code: 'USER_LAST_ADMIN',
      });
    }
    const second = await createUser(t.app.db, solo.id, { role: 'admin' });
    await expect(
      updateUser(t.app, solo.id, actor, onlyAdmin.id, { role: 'member' }),
    ).resolves.toMatchObject({ role: 'member' });
    await expect(
      updateUser(t.app, solo.id, actor, second.id, { active: false }),
    ).rejects.toMatchObject({ code: 'USER_LAST_ADMIN' });
  });
});

describe('two admins demoting each other at the same moment', () => {
  it('leaves exactly one of them admin', async () => {
    const pair = await createTenant(t.app.db);
    const a = await createUser(t.app.db, pair.id, { role: 'admin' });
    const b = await createUser(t.app.db, pair.id, { role: 'admin' });
    const [apiA, apiB] = [await as(a), await as(b)];
    const results = await Promise.all([
      apiA('PATCH', `/api/users/${b.id}`, { role: 'member' }),
      apiB('PATCH', `/api/users/${a.id}`, { role: 'member' }),
    ]);
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    const refused = results.find((r) => r.statusCode !== 200)!;
    // Refused either by the rule, or at the door if the other change committed first.
    expect(['USER_LAST_ADMIN', 'AUTH_FORBIDDEN']).toContain(refused.json().code);
    const admins = await t.app.db
      .select()
      .from(users)
      .where(and(eq(users.tenantId, pair.id), eq(users.role, 'admin')));
    expect(admins).toHaveLength(1);
  });
});

describe('POST /api/users/:userId/invite', () => {
  it('issues a new link and kills the old one', async () => {
    const { user, inviteUrl: first } = await createViaApi({
      email: 'reinvite@example.org',
      displayName: 'Re Invite',
      role: 'member',
    });
    const res = await admin('POST', `/api/users/${user.id}/invite`);
    expect(res.statusCode).toBe(200);
    const second: string = res.json().inviteUrl;
    expect(second).not.toBe(first);
    const token = (url: string) => url.split('/link/')[1]!;
    const old = await t.app.inject({ method: 'GET', url: `/api/links/${token(first)}` });
    expect(old.statusCode).toBe(410);
    expect(old.json().code).toBe('INVITE_INVALID');
    const fresh = await t.app.inject({ method: 'GET', url: `/api/links/${token(second)}` });
    expect(fresh.statusCode).toBe(200);
    expect((await auditOf(user.id)).filter((r) => r.action === 'user.invited')).toHaveLength(2);
  });

  it('refuses deactivated users, other tenants’ users and non-admins', async () => {
    const inactive = await createUser(t.app.db, tenant.id, { active: false });
    const res = await admin('POST', `/api/users/${inactive.id}/invite`);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('USER_INACTIVE');
    const stranger = await createUser(t.app.db, other.id);
    expect((await admin('POST', `/api/users/${stranger.id}/invite`)).statusCode).toBe(404);
    const member = await as(await createUser(t.app.db, tenant.id));
    expect((await member('POST', `/api/users/${inactive.id}/invite`)).statusCode).toBe(403);
  });
});

describe('POST /api/users/:userId/reset-mfa', () => {
  it('removes TOTP, recovery codes and passkeys and signs out every device with a wipe', async () => {
    const person = await createUser(t.app.db, tenant.id, { role: 'dispatcher' });
    await replaceRecoveryCodes(t.app.db, tenant.id, person.id);
    await t.app.db.insert(webauthnCredentials).values({
      id: `pk-${person.id}`,
      tenantId: tenant.id,
      userId: person.id,
      name: 'Key',
      publicKey: 'AAAA',
      transports: ['usb'],
      createdAt: new Date(),
    });
    const session = await signInAs(t.app, person);

    const res = await admin('POST', `/api/users/${person.id}/reset-mfa`);
    expect(res.statusCode).toBe(204);

    const detail: Detail = (await admin('GET', `/api/users/${person.id}`)).json();
    expect(detail).toMatchObject({ totpEnabled: false, passkeyCount: 0, activeDeviceCount: 0 });
    const [row] = await t.app.db.select().from(users).where(eq(users.id, person.id));
    expect(row).toMatchObject({ totpSecret: null, totpEnabledAt: null, totpLastStep: null });
    expect(
      await t.app.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, person.id)),
    ).toEqual([]);
    const call = await apiAs(t.app, session.accessToken)('GET', '/api/me');
    expect(call.json()).toMatchObject({ code: 'DEVICE_REVOKED', details: { wipe: true } });
    // The password still works; as a dispatcher they must enrol TOTP again.
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: person.email, password: TEST_PASSWORD },
    });
    expect(again.json()).toMatchObject({ status: 'ok', session: { mfaEnrolmentRequired: true } });
    const records = await auditOf(person.id);
    expect(records.find((r) => r.action === 'user.mfa_reset')!.details).toEqual({
      hadTotp: true,
      passkeysRemoved: 1,
    });
  });

  it('answers 404 for another tenant’s user and leaves their second factor', async () => {
    const stranger = await createUser(t.app.db, other.id, { role: 'admin' });
    expect((await admin('POST', `/api/users/${stranger.id}/reset-mfa`)).statusCode).toBe(404);
    const [row] = await t.app.db.select().from(users).where(eq(users.id, stranger.id));
    expect(row!.totpEnabledAt).not.toBeNull();
  });
});
