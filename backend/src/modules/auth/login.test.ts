import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { PERMISSION_MATRIX } from '@trupp/shared';
import { auditLog, devices, users } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  TEST_PASSWORD,
  bearer,
  createTenant,
  createUser,
  signIn,
  type TestTenant,
} from '../../test/factories.ts';
import { PLATFORM_CHAIN, verifyAuditChain } from '../audit/service.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { deviceNameFromUserAgent } from './sessions.ts';

const LOCKOUT_SECONDS = 2;
const MAX_FAILURES = 3;

let t: TestApp;
let tenant: TestTenant;
let ipCounter = 0;
/** A fresh client address per test, so address counters of one test do not touch another. */
const nextIp = () => `10.0.0.${++ipCounter}`;

beforeAll(async () => {
  t = await createTestApp({
    LOGIN_MAX_FAILURES: String(MAX_FAILURES),
    LOGIN_LOCKOUT_SECONDS: String(LOCKOUT_SECONDS),
  });
  tenant = await createTenant(t.app.db);
});
afterAll(async () => t?.close());

function login(email: string, password: string, ip: string, extra: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    remoteAddress: ip,
    payload: { email, password, ...extra },
  });
}

describe('password sign-in', () => {
  it('signs a member in and returns a session with the account', async () => {
    const user = await createUser(t.app.db, tenant.id, { role: 'member' });
    const res = await login(user.email, TEST_PASSWORD, nextIp());
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ok');
    expect(body.session).toMatchObject({
      deviceId: expect.any(String),
      mfaEnrolmentRequired: false,
      user: { id: user.id, email: user.email, role: 'member', tenantName: tenant.name },
    });
    expect(body.session.accessToken).not.toBe(body.session.refreshToken);
    expect(new Date(body.session.accessExpiresAt).getTime()).toBeGreaterThan(Date.now());

    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(body.session) });
    expect(me.statusCode).toBe(200);
    expect(me.json().id).toBe(user.id);
  });

  it('accepts the email in any letter case', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const res = await login(`  ${user.email.toUpperCase()} `, TEST_PASSWORD, nextIp());
    expect(res.statusCode).toBe(200);
  });

  it('stores tokens only as hashes and records the sign-in time', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signIn(t.app, user.email, TEST_PASSWORD, { ip: nextIp() });
    const [device] = await t.app.db.select().from(devices).where(eq(devices.id, session.deviceId));
    expect(device!.accessHash).not.toBe(session.accessToken);
    expect(device!.accessHash).toHaveLength(64);
    expect(JSON.stringify(device)).not.toContain(session.refreshToken);
    const [row] = await t.app.db.select().from(users).where(eq(users.id, user.id));
    expect(row!.lastLoginAt).not.toBeNull();
  });

  it('names the device from the User-Agent unless a name is given', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const ua =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
    const derived = await signIn(t.app, user.email, TEST_PASSWORD, { userAgent: ua, ip: nextIp() });
    const named = await signIn(t.app, user.email, TEST_PASSWORD, {
      deviceName: 'Station tablet',
      ip: nextIp(),
    });
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/me/devices',
      headers: bearer(named),
    });
    const names = Object.fromEntries(
      list.json<Array<{ id: string; name: string }>>().map((d) => [d.id, d.name]),
    );
    expect(names[derived.deviceId]).toBe('Chrome on Linux');
    expect(names[named.deviceId]).toBe('Station tablet');
  });

  it('derives readable names from common User-Agents', () => {
    expect(
      deviceNameFromUserAgent(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      ),
    ).toBe('Safari on iPhone');
    expect(
      deviceNameFromUserAgent(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
      ),
    ).toBe('Firefox on Windows');
    expect(
      deviceNameFromUserAgent(
        'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36 EdgA/126.0',
      ),
    ).toBe('Edge on Android');
    expect(deviceNameFromUserAgent('')).toBe('Unknown device');
  });

  it('lists the permissions of the role in the session', async () => {
    const user = await createUser(t.app.db, tenant.id, { role: 'auditor' });
    const session = await signIn(t.app, user.email, TEST_PASSWORD, { ip: nextIp() });
    const expected = Object.entries(PERMISSION_MATRIX)
      .filter(([, roles]) => (roles as readonly string[]).includes('auditor'))
      .map(([permission]) => permission);
    expect([...session.user.permissions].sort()).toEqual(expected.sort());
  });
});

describe('refused sign-in reveals nothing', () => {
  it('answers unknown email, wrong password and a deactivated user identically', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const inactive = await createUser(t.app.db, tenant.id, { active: false });
    const wrongPassword = await login(user.email, 'not-the-password', nextIp());
    const unknown = await login('nobody-here@example.org', 'not-the-password', nextIp());
    const deactivated = await login(inactive.email, TEST_PASSWORD, nextIp());
    for (const res of [wrongPassword, unknown, deactivated]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({
        code: 'AUTH_INVALID_CREDENTIALS',
        message: 'Email or password is wrong.',
        statusCode: 401,
      });
    }
    expect(unknown.body).toBe(wrongPassword.body);
    expect(deactivated.body).toBe(wrongPassword.body);
  });

  it('spends comparable time checking the password of an unknown email', async () => {
    const real = await hashPassword('the-real-password');
    const time = async (hash: string | null) => {
      const started = performance.now();
      expect(await verifyPassword(hash, 'not-the-password')).toBe(false);
      return performance.now() - started;
    };
    await time(null); // warm-up: the dummy hash is computed once
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      known.push(await time(real));
      unknown.push(await time(null));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!;
    // Both run one argon2 verification; without the dummy one, "no such user" would
    // answer in a fraction of the time.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  });

  it('refuses a user who has no password yet', async () => {
    const invited = await createUser(t.app.db, tenant.id, { password: null });
    const res = await login(invited.email, TEST_PASSWORD, nextIp());
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('AUTH_INVALID_CREDENTIALS');
  });

  it('refuses malformed bodies with VALIDATION_FAILED', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'x@example.org', password: 12345 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('VALIDATION_FAILED');
  });
});

describe('lockout', () => {
  async function failUntilLocked(email: string, ip: string) {
    for (let i = 0; i < MAX_FAILURES; i += 1) {
      const res = await login(email, 'wrong-password', ip);
      expect(res.json().code).toBe('AUTH_INVALID_CREDENTIALS');
    }
  }

  it('locks a known account after repeated failures, even for the right password', async () => {
    const user = await createUser(t.app.db, tenant.id);
    await failUntilLocked(user.email, nextIp());
    // From another address too: the account itself is locked.
    const res = await login(user.email, TEST_PASSWORD, nextIp());
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('AUTH_LOCKED');
    expect(res.json().details.retryAfterSeconds).toBeGreaterThan(0);
    expect(res.json().details.retryAfterSeconds).toBeLessThanOrEqual(LOCKOUT_SECONDS);
    expect(res.headers['retry-after']).toBeDefined();
  });

  it('locks an unknown email exactly like a known one', async () => {
    const user = await createUser(t.app.db, tenant.id);
    await failUntilLocked(user.email, nextIp());
    await failUntilLocked('ghost@example.org', nextIp());
    const known = await login(user.email, 'wrong-password', nextIp());
    const unknown = await login('ghost@example.org', 'wrong-password', nextIp());
    expect(known.statusCode).toBe(429);
    expect(unknown.statusCode).toBe(429);
    expect(unknown.json().code).toBe(known.json().code);
    expect(Object.keys(unknown.json().details)).toEqual(Object.keys(known.json().details));
  });

  it('releases the lock after the lockout time', async () => {
    const user = await createUser(t.app.db, tenant.id);
    await failUntilLocked(user.email, nextIp());
    expect((await login(user.email, TEST_PASSWORD, nextIp())).statusCode).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, LOCKOUT_SECONDS * 1000 + 200));
    expect((await login(user.email, TEST_PASSWORD, nextIp())).statusCode).toBe(200);
  });

  it('a successful sign-in forgets earlier failures of the account', async () => {
    const user = await createUser(t.app.db, tenant.id);
    for (let round = 0; round < 2; round += 1) {
      for (let i = 0; i < MAX_FAILURES - 1; i += 1) await login(user.email, 'wrong', nextIp());
      expect((await login(user.email, TEST_PASSWORD, nextIp())).statusCode).toBe(200);
    }
  });

  it('locks a client address that tries many accounts', async () => {
    const ip = nextIp();
    // The address limit is higher than the per-account one (ADDRESS_FAILURE_FACTOR).
    for (let i = 0; i < MAX_FAILURES * 5; i += 1) {
      const res = await login(`spray-${i}@example.org`, 'wrong', ip);
      expect(res.json().code).toBe('AUTH_INVALID_CREDENTIALS');
    }
    const user = await createUser(t.app.db, tenant.id);
    expect((await login(user.email, TEST_PASSWORD, ip)).json().code).toBe('AUTH_LOCKED');
    expect((await login(user.email, TEST_PASSWORD, nextIp())).statusCode).toBe(200);
  });
});

describe('audit of sign-ins', () => {
  it('records success and failure in the tenant chain, unknown emails in the platform chain', async () => {
    const user = await createUser(t.app.db, tenant.id);
    await login(user.email, 'wrong-password', nextIp());
    const session = await signIn(t.app, user.email, TEST_PASSWORD, { ip: nextIp() });
    await login('unknown-audit@example.org', 'whatever-pass', nextIp());

    const tenantRows = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.targetId, user.id)));
    const actions = tenantRows.map((r) => r.action);
    expect(actions).toContain('auth.login_failed');
    expect(actions).toContain('auth.login_succeeded');
    const success = tenantRows.find((r) => r.action === 'auth.login_succeeded')!;
    expect(success.actorDeviceId).toBe(session.deviceId);

    const platformRows = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, PLATFORM_CHAIN), eq(auditLog.action, 'auth.login_failed')));
    expect(platformRows.length).toBeGreaterThan(0);
    // Only a hash of the unknown name is kept.
    expect(JSON.stringify(platformRows)).not.toContain('unknown-audit@example.org');
    expect(platformRows.some((r) => typeof r.details.emailHash === 'string')).toBe(true);

    expect((await verifyAuditChain(t.app.db, tenant.id)).ok).toBe(true);
    expect((await verifyAuditChain(t.app.db, PLATFORM_CHAIN)).ok).toBe(true);
  });

  it('records the start of a lockout', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const ip = nextIp();
    for (let i = 0; i < MAX_FAILURES; i += 1) await login(user.email, 'wrong', ip);
    const rows = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.action, 'auth.locked')));
    expect(rows.some((r) => r.targetId === user.id)).toBe(true);
  });
});

describe('request rate limit on sign-in', () => {
  it('answers RATE_LIMITED past a tenth of the general limit per minute', async () => {
    const limited = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 11; i += 1) {
        const res = await limited.app.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { email: `x${i}@example.org`, password: 'whatever' },
        });
        statuses.push(res.statusCode);
      }
      expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
      expect(statuses[10]).toBe(429);
    } finally {
      await limited.close();
    }
  });
});
