import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, devices, users } from '../../db/schema.ts';
import { signStatement } from '../../lib/tokens.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  TEST_PASSWORD,
  bearer,
  createTenant,
  createUser,
  signIn,
  totpCode,
  type TestTenant,
  type TestUser,
} from '../../test/factories.ts';
import { verifyAuditChain } from '../audit/service.ts';
import type { Session } from './schemas.ts';

const MAX_FAILURES = 3;

let t: TestApp;
let tenant: TestTenant;
let ipCounter = 0;
const nextIp = () => `10.1.0.${++ipCounter}`;

beforeAll(async () => {
  t = await createTestApp({ LOGIN_MAX_FAILURES: String(MAX_FAILURES) });
  tenant = await createTenant(t.app.db);
});
afterAll(async () => t?.close());

/** A code from the next 30 s step: accepted (±1 step) even right after the current one was used. */
const nextCode = (secret: string) => totpCode(secret, new Date(Date.now() + 30_000));

/** Test shortcut where replay is not the subject: forget the last used step. */
async function forgetLastStep(userId: string) {
  await t.app.db.update(users).set({ totpLastStep: null }).where(eq(users.id, userId));
}

function post(url: string, payload: object, session?: Session, ip = nextIp()) {
  return t.app.inject({
    method: 'POST',
    url,
    payload,
    remoteAddress: ip,
    ...(session ? { headers: bearer(session) } : {}),
  });
}

async function enrol(session: Session): Promise<{ secret: string; recoveryCodes: string[] }> {
  const enrolment = await post('/api/me/totp/enrol', {}, session);
  expect(enrolment.statusCode).toBe(200);
  const { secret } = enrolment.json<{ secret: string }>();
  const confirm = await post('/api/me/totp/confirm', { code: await totpCode(secret) }, session);
  expect(confirm.statusCode).toBe(200);
  return { secret, recoveryCodes: confirm.json<{ recoveryCodes: string[] }>().recoveryCodes };
}

async function passwordStep(user: TestUser, ip = nextIp()) {
  const res = await post(
    '/api/auth/login',
    { email: user.email, password: TEST_PASSWORD },
    undefined,
    ip,
  );
  expect(res.statusCode).toBe(200);
  return res.json<{ status: string; mfaToken: string; methods: string[] }>();
}

describe('TOTP enrolment', () => {
  it('returns a secret, an otpauth URL and a QR code, not yet active', async () => {
    const user = await createUser(t.app.db, tenant.id, { role: 'member' });
    const session = await signIn(t.app, user.email, TEST_PASSWORD);
    const res = await post('/api/me/totp/enrol', {}, session);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(body.otpauthUrl).toMatch(/^otpauth:\/\/totp\/Trupp:/);
    expect(body.otpauthUrl).toContain(`secret=${body.secret}`);
    expect(body.qrSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(session) });
    expect(me.json().totpEnabled).toBe(false);
    // Not active yet: sign-in still needs only the password.
    expect((await passwordStep(user)).status).toBe('ok');
  });

  it('activates with a correct code and hands out 10 recovery codes once', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signIn(t.app, user.email, TEST_PASSWORD);
    const { secret } = (await post('/api/me/totp/enrol', {}, session)).json<{ secret: string }>();
    const wrong = await post('/api/me/totp/confirm', { code: '000000' }, session);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('AUTH_MFA_INVALID');

    const ok = await post('/api/me/totp/confirm', { code: await totpCode(secret) }, session);
    expect(ok.statusCode).toBe(200);
    const codes = ok.json<{ recoveryCodes: string[] }>().recoveryCodes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);

    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(session) });
    expect(me.json().totpEnabled).toBe(true);
    const again = await post('/api/me/totp/enrol', {}, session);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('AUTH_MFA_ALREADY_ENROLLED');
  });

  it('refuses confirmation without an enrolment', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signIn(t.app, user.email, TEST_PASSWORD);
    const res = await post('/api/me/totp/confirm', { code: '123456' }, session);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('AUTH_MFA_NOT_ENROLLED');
  });
});

describe('sign-in with TOTP', () => {
  it('asks for the code, accepts it once, and refuses the same code again', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const { secret } = await enrol(await signIn(t.app, user.email, TEST_PASSWORD));

    const first = await passwordStep(user);
    expect(first.status).toBe('mfa_required');
    expect(first.methods).toEqual(['totp', 'recovery']);
    expect(first).not.toHaveProperty('session');

    const code = await nextCode(secret);
    const wrong = await post('/api/auth/login/mfa', {
      mfaToken: first.mfaToken,
      method: 'totp',
      code: code === '123456' ? '654321' : '123456',
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('AUTH_MFA_INVALID');

    const ok = await post('/api/auth/login/mfa', {
      mfaToken: first.mfaToken,
      method: 'totp',
      code,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().session.user.id).toBe(user.id);

    const second = await passwordStep(user);
    const replay = await post('/api/auth/login/mfa', {
      mfaToken: second.mfaToken,
      method: 'totp',
      code,
    });
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('AUTH_MFA_INVALID');
  });

  it('accepts a recovery code once', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const { recoveryCodes } = await enrol(await signIn(t.app, user.email, TEST_PASSWORD));
    const code = recoveryCodes[3]!;

    const step = await passwordStep(user);
    const ok = await post('/api/auth/login/mfa', {
      mfaToken: step.mfaToken,
      method: 'recovery',
      // Typed as read off paper: upper case, without the dash.
      code: code.replace('-', '').toUpperCase(),
    });
    expect(ok.statusCode).toBe(200);

    const again = await passwordStep(user);
    const reused = await post('/api/auth/login/mfa', {
      mfaToken: again.mfaToken,
      method: 'recovery',
      code,
    });
    expect(reused.statusCode).toBe(401);
    expect(reused.json().code).toBe('AUTH_MFA_INVALID');

    const used = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.action, 'auth.recovery_code_used')));
    expect(used.filter((r) => r.targetId === user.id)).toHaveLength(1);
  });

  it('refuses a forged, expired or foreign-purpose step token', async () => {
    const user = await createUser(t.app.db, tenant.id, { totp: true });
    const code = await totpCode(user.totpSecret!);
    const forged = signStatement('x'.repeat(64), 'mfa', { uid: user.id, tid: tenant.id }, 300);
    const expired = signStatement(
      t.config.tokenSecret,
      'mfa',
      { uid: user.id, tid: tenant.id },
      -1,
    );
    const otherPurpose = signStatement(
      t.config.tokenSecret,
      'device_limit',
      { uid: user.id, tid: tenant.id },
      300,
    );
    for (const mfaToken of [forged, expired, otherPurpose, 'garbage']) {
      const res = await post('/api/auth/login/mfa', { mfaToken, method: 'totp', code });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('AUTH_MFA_TOKEN_INVALID');
    }
  });

  it('counts wrong codes towards the lockout', async () => {
    const user = await createUser(t.app.db, tenant.id, { totp: true });
    const ip = nextIp();
    const step = await passwordStep(user, ip);
    for (let i = 0; i < MAX_FAILURES; i += 1) {
      const res = await post('/api/auth/login/mfa', {
        mfaToken: step.mfaToken,
        method: 'totp',
        code: 'abcdef',
      });
      expect(res.json().code).toBe('AUTH_MFA_INVALID');
    }
    const right = await post('/api/auth/login/mfa', {
      mfaToken: step.mfaToken,
      method: 'totp',
      code: await totpCode(user.totpSecret!),
    });
    expect(right.statusCode).toBe(429);
    expect(right.json().code).toBe('AUTH_LOCKED');
    const failed = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.action, 'auth.mfa_failed')));
    expect(failed.filter((r) => r.targetId === user.id).length).toBe(MAX_FAILURES);
  });
});

describe('roles that must use two factors', () => {
  it('admins without TOTP may only enrol until they confirm it', async () => {
    const admin = await createUser(t.app.db, tenant.id, { role: 'admin', totp: false });
    const session = await signIn(t.app, admin.email, TEST_PASSWORD);
    const other = await signIn(t.app, admin.email, TEST_PASSWORD);
    expect(session.mfaEnrolmentRequired).toBe(true);

    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(session) });
    expect(me.statusCode).toBe(200);
    for (const url of ['/api/devices', '/api/me/passkeys']) {
      const res = await t.app.inject({ method: 'GET', url, headers: bearer(session) });
      expect(res.statusCode, url).toBe(403);
      expect(res.json().code).toBe('AUTH_MFA_ENROLMENT_REQUIRED');
    }

    await enrol(session);
    for (const s of [session, other]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/devices', headers: bearer(s) });
      expect(res.statusCode).toBe(200);
    }
    const pending = await t.app.db
      .select({ pending: devices.mfaEnrolmentPending })
      .from(devices)
      .where(eq(devices.userId, admin.id));
    expect(pending.every((d) => !d.pending)).toBe(true);
  });

  it('a dispatcher is held at enrolment too, a member is not', async () => {
    const dispatcher = await createUser(t.app.db, tenant.id, { role: 'dispatcher', totp: false });
    const member = await createUser(t.app.db, tenant.id, { role: 'member' });
    expect((await signIn(t.app, dispatcher.email, TEST_PASSWORD)).mfaEnrolmentRequired).toBe(true);
    expect((await signIn(t.app, member.email, TEST_PASSWORD)).mfaEnrolmentRequired).toBe(false);
  });

  it('refuses switching TOTP off for an admin', async () => {
    const admin = await createUser(t.app.db, tenant.id, { role: 'admin' });
    const session = await signIn(t.app, admin.email, TEST_PASSWORD, {
      totpSecret: admin.totpSecret,
    });
    const res = await t.app.inject({
      method: 'DELETE',
      url: '/api/me/totp',
      headers: bearer(session),
      payload: { code: await nextCode(admin.totpSecret!) },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('AUTH_MFA_ROLE_REQUIRES');
    const [row] = await t.app.db.select().from(users).where(eq(users.id, admin.id));
    expect(row!.totpEnabledAt).not.toBeNull();
  });
});

describe('managing TOTP', () => {
  it('a member switches TOTP off with a current code; sign-in then needs only the password', async () => {
    const user = await createUser(t.app.db, tenant.id, { totp: true });
    const session = await signIn(t.app, user.email, TEST_PASSWORD, { totpSecret: user.totpSecret });
    const wrong = await t.app.inject({
      method: 'DELETE',
      url: '/api/me/totp',
      headers: bearer(session),
      payload: { code: '000000' },
    });
    expect(wrong.json().code).toBe('AUTH_MFA_INVALID');
    const ok = await t.app.inject({
      method: 'DELETE',
      url: '/api/me/totp',
      headers: bearer(session),
      payload: { code: await nextCode(user.totpSecret!) },
    });
    expect(ok.statusCode).toBe(204);
    expect((await passwordStep(user)).status).toBe('ok');
  });

  it('new recovery codes replace the old ones', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signIn(t.app, user.email, TEST_PASSWORD);
    const { secret, recoveryCodes: old } = await enrol(session);
    const res = await post('/api/me/recovery-codes', { code: await nextCode(secret) }, session);
    expect(res.statusCode).toBe(200);
    const fresh = res.json<{ recoveryCodes: string[] }>().recoveryCodes;
    expect(fresh).toHaveLength(10);

    const a = await passwordStep(user);
    const oldCode = await post('/api/auth/login/mfa', {
      mfaToken: a.mfaToken,
      method: 'recovery',
      code: old[0]!,
    });
    expect(oldCode.json().code).toBe('AUTH_MFA_INVALID');
    const newCode = await post('/api/auth/login/mfa', {
      mfaToken: a.mfaToken,
      method: 'recovery',
      code: fresh[0]!,
    });
    expect(newCode.statusCode).toBe(200);
  });

  it('audits enabling, regenerating and disabling, in an intact chain', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signIn(t.app, user.email, TEST_PASSWORD);
    const { secret } = await enrol(session);
    await forgetLastStep(user.id);
    await post('/api/me/recovery-codes', { code: await totpCode(secret) }, session);
    await forgetLastStep(user.id);
    await t.app.inject({
      method: 'DELETE',
      url: '/api/me/totp',
      headers: bearer(session),
      payload: { code: await totpCode(secret) },
    });
    const rows = await t.app.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.targetId, user.id)));
    const actions = rows.map((r) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'auth.totp_enabled',
        'auth.recovery_codes_regenerated',
        'auth.totp_disabled',
      ]),
    );
    expect((await verifyAuditChain(t.app.db, tenant.id)).ok).toBe(true);
  });
});
