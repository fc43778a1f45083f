import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, isNull } from 'drizzle-orm';
import { MAX_ACTIVE_DEVICES } from '@trupp/shared';
import { auditLog, devices } from '../../db/schema.ts';
import type { DomainEvents } from '../../lib/bus.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  TEST_PASSWORD,
  bearer,
  createTenant,
  createUser,
  signIn,
  signInAs,
  totpCode,
  type TestTenant,
} from '../../test/factories.ts';
import { verifyAuditChain } from '../audit/service.ts';
import type { Session } from './schemas.ts';

let t: TestApp;
let tenant: TestTenant;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db);
});
afterAll(async () => t?.close());

const refresh = (refreshToken: string) =>
  t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } });

const me = (session: Pick<Session, 'accessToken'>) =>
  t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(session) });

async function activeDeviceCount(userId: string): Promise<number> {
  const rows = await t.app.db
    .select({ id: devices.id })
    .from(devices)
    .where(and(eq(devices.userId, userId), isNull(devices.revokedAt)));
  return rows.length;
}

describe('refresh', () => {
  it('rotates both tokens on the same device; the old access token stops working', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signIn(t.app, user.email, TEST_PASSWORD);
    const res = await refresh(session.refreshToken);
    expect(res.statusCode).toBe(200);
    const next = res.json<Session>();
    expect(next.deviceId).toBe(session.deviceId);
    expect(next.accessToken).not.toBe(session.accessToken);
    expect(next.refreshToken).not.toBe(session.refreshToken);
    expect(next.user.id).toBe(user.id);
    expect((await me(next)).statusCode).toBe(200);
    expect((await me(session)).json().code).toBe('AUTH_TOKEN_INVALID');
  });

  it('treats a second use of a spent refresh token as theft and wipes the device', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signIn(t.app, user.email, TEST_PASSWORD);
    const events: Array<DomainEvents['device.revoked']> = [];
    const off = t.app.bus.on('device.revoked', (e) => events.push(e));
    try {
      const next = (await refresh(session.refreshToken)).json<Session>();
      const stolen = await refresh(session.refreshToken);
      expect(stolen.statusCode).toBe(401);
      expect(stolen.json().code).toBe('AUTH_REFRESH_INVALID');

      // The rightful holder is signed out too and told to wipe.
      const legit = await refresh(next.refreshToken);
      expect(legit.statusCode).toBe(401);
      expect(legit.json()).toMatchObject({ code: 'DEVICE_REVOKED', details: { wipe: true } });
      expect((await me(next)).json()).toMatchObject({
        code: 'DEVICE_REVOKED',
        details: { wipe: true },
      });
      expect(events).toEqual([
        expect.objectContaining({
          deviceId: session.deviceId,
          reason: 'refresh_reuse',
          wipe: true,
        }),
      ]);
    } finally {
      off();
    }
    const rows = await t.app.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.targetId, session.deviceId)));
    expect(rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(['auth.refresh_reuse_detected', 'device.revoked']),
    );
  });

  it('refuses an unknown refresh token', async () => {
    const res = await refresh('x'.repeat(43));
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('AUTH_REFRESH_INVALID');
  });

  it('refuses refresh after logout; logout needs no wipe', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signIn(t.app, user.email, TEST_PASSWORD);
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: bearer(session),
    });
    expect(out.statusCode).toBe(204);
    const res = await refresh(session.refreshToken);
    expect(res.json()).toMatchObject({ code: 'DEVICE_REVOKED', details: { wipe: false } });
    expect(await activeDeviceCount(user.id)).toBe(0);
  });

  it('keeps the enrolment requirement across a refresh', async () => {
    const admin = await createUser(t.app.db, tenant.id, { role: 'admin', totp: false });
    const session = await signIn(t.app, admin.email, TEST_PASSWORD);
    const next = (await refresh(session.refreshToken)).json<Session>();
    expect(next.mfaEnrolmentRequired).toBe(true);
  });
});

describe('device limit', () => {
  it(`refuses sign-in on a ${MAX_ACTIVE_DEVICES + 1}th device, listing the others; revoking one lets it through`, async () => {
    const user = await createUser(t.app.db, tenant.id);
    const sessions: Session[] = [];
    for (let i = 0; i < MAX_ACTIVE_DEVICES; i += 1) {
      sessions.push(await signIn(t.app, user.email, TEST_PASSWORD, { deviceName: `Device ${i}` }));
    }
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user.email, password: TEST_PASSWORD, deviceName: 'New phone' },
    });
    expect(refused.statusCode).toBe(409);
    const body = refused.json();
    expect(body.code).toBe('DEVICE_LIMIT_REACHED');
    expect(body.details.devices).toHaveLength(MAX_ACTIVE_DEVICES);
    expect(body.details.devices.map((d: { id: string }) => d.id).sort()).toEqual(
      sessions.map((s) => s.deviceId).sort(),
    );
    expect(body.details.devices[0]).toEqual({
      id: expect.any(String),
      name: expect.stringMatching(/^Device \d$/),
      userAgent: expect.any(String),
      createdAt: expect.any(String),
      lastSeenAt: expect.any(String),
      lastIp: expect.any(String),
      current: false,
    });
    expect(await activeDeviceCount(user.id)).toBe(MAX_ACTIVE_DEVICES);

    const victim = sessions[1]!;
    const revoke = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device-limit/revoke',
      payload: { limitToken: body.details.limitToken, deviceId: victim.deviceId },
    });
    expect(revoke.statusCode).toBe(204);
    expect((await me(victim)).json()).toMatchObject({
      code: 'DEVICE_REVOKED',
      details: { wipe: true },
    });

    const retry = await signIn(t.app, user.email, TEST_PASSWORD, { deviceName: 'New phone' });
    expect(retry.user.id).toBe(user.id);
    expect(await activeDeviceCount(user.id)).toBe(MAX_ACTIVE_DEVICES);
  });

  it('the limit token only signs out the same user’s devices', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const other = await createUser(t.app.db, tenant.id);
    const otherSession = await signIn(t.app, other.email, TEST_PASSWORD);
    for (let i = 0; i < MAX_ACTIVE_DEVICES; i += 1) await signIn(t.app, user.email, TEST_PASSWORD);
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user.email, password: TEST_PASSWORD },
    });
    const { limitToken } = refused.json().details;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device-limit/revoke',
      payload: { limitToken, deviceId: otherSession.deviceId },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('DEVICE_NOT_FOUND');
    expect((await me(otherSession)).statusCode).toBe(200);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/auth/device-limit/revoke',
      payload: { limitToken: 'forged.token', deviceId: otherSession.deviceId },
    });
    expect(bad.json().code).toBe('AUTH_MFA_TOKEN_INVALID');
  });

  it('does not spend the TOTP code of a sign-in refused for the limit', async () => {
    const user = await createUser(t.app.db, tenant.id, { totp: true });
    const sessions: Session[] = [];
    for (let i = 0; i < MAX_ACTIVE_DEVICES; i += 1) sessions.push(await signInAs(t.app, user));
    const login = async () =>
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { email: user.email, password: TEST_PASSWORD },
        })
      ).json<{ mfaToken: string }>().mfaToken;
    const code = await totpCode(user.totpSecret!, new Date(Date.now() + 30_000));
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login/mfa',
      payload: { mfaToken: await login(), method: 'totp', code },
    });
    expect(refused.json().code).toBe('DEVICE_LIMIT_REACHED');
    await t.app.inject({
      method: 'POST',
      url: '/api/auth/device-limit/revoke',
      payload: { limitToken: refused.json().details.limitToken, deviceId: sessions[0]!.deviceId },
    });
    const retry = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login/mfa',
      payload: { mfaToken: await login(), method: 'totp', code },
    });
    expect(retry.statusCode, retry.body).toBe(200);
  });

  it('parallel sign-ins of one user never make more than the limit', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const attempts = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        t.app.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { email: user.email, password: TEST_PASSWORD, deviceName: `Parallel ${i}` },
        }),
      ),
    );
    const statuses = attempts.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(MAX_ACTIVE_DEVICES);
    expect(statuses.filter((s) => s === 409)).toHaveLength(8 - MAX_ACTIVE_DEVICES);
    expect(await activeDeviceCount(user.id)).toBe(MAX_ACTIVE_DEVICES);
  });

  it('leaves the audit chain intact', async () => {
    expect((await verifyAuditChain(t.app.db, tenant.id)).ok).toBe(true);
  });
});
