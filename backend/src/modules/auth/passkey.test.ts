import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { auditLog, users, webauthnCredentials } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  TEST_PASSWORD,
  bearer,
  createTenant,
  createUser,
  signIn,
  type TestTenant,
  type TestUser,
} from '../../test/factories.ts';
import { SoftwareAuthenticator, cborEncode } from '../../test/webauthn-authenticator.ts';
import { verifyAuditChain } from '../audit/service.ts';
import type { Session } from './schemas.ts';

let t: TestApp;
let tenant: TestTenant;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db);
});
afterAll(async () => t?.close());

function post(url: string, payload: object, session?: Session) {
  return t.app.inject({
    method: 'POST',
    url,
    payload,
    ...(session ? { headers: bearer(session) } : {}),
  });
}

/** A member with one registered passkey (and a session used to register it). */
async function userWithPasskey(): Promise<{
  user: TestUser;
  session: Session;
  key: SoftwareAuthenticator;
}> {
  const user = await createUser(t.app.db, tenant.id);
  const session = await signIn(t.app, user.email, TEST_PASSWORD);
  const key = new SoftwareAuthenticator(t.config.publicUrl);
  const options = await post('/api/me/passkeys/options', {}, session);
  expect(options.statusCode).toBe(200);
  const { challengeId, options: creation } = options.json<{
    challengeId: string;
    options: PublicKeyCredentialCreationOptionsJSON;
  }>();
  const res = await post(
    '/api/me/passkeys',
    { challengeId, response: key.register(creation), name: 'Phone' },
    session,
  );
  expect(res.statusCode, res.body).toBe(200);
  return { user, session, key };
}

async function loginOptions(mfaToken?: string) {
  const res = await post('/api/auth/passkey/options', mfaToken ? { mfaToken } : {});
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>();
}

describe('software authenticator', () => {
  it('encodes CBOR as RFC 8949 says', () => {
    const hex = (v: Parameters<typeof cborEncode>[0]) => cborEncode(v).toString('hex');
    expect(hex(0)).toBe('00');
    expect(hex(23)).toBe('17');
    expect(hex(24)).toBe('1818');
    expect(hex(1000)).toBe('1903e8');
    expect(hex(-1)).toBe('20');
    expect(hex(-7)).toBe('26');
    expect(hex(-257)).toBe('390100');
    expect(hex('fmt')).toBe('63666d74');
    expect(hex(new Uint8Array(300)).slice(0, 6)).toBe('59012c');
    expect(hex(new Map([[1, 2]]))).toBe('a10102');
    expect(hex([1, [2, 3]])).toBe('8201820203');
  });
});

describe('registering a passkey', () => {
  it('stores the passkey, lists it and counts it on the account', async () => {
    const { session, key, user } = await userWithPasskey();
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/me/passkeys',
      headers: bearer(session),
    });
    expect(list.json()).toEqual([
      { id: key.id, name: 'Phone', createdAt: expect.any(String), lastUsedAt: null },
    ]);
    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(session) });
    expect(me.json().passkeyCount).toBe(1);
    const audit = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.action, 'auth.passkey_added')));
    expect(audit.some((r) => r.actorUserId === user.id && r.targetId === key.id)).toBe(true);
  });

  it('refuses an answer to a challenge that was used already or is someone else’s', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signIn(t.app, user.email, TEST_PASSWORD);
    const other = await signIn(t.app, (await createUser(t.app.db, tenant.id)).email, TEST_PASSWORD);
    const { challengeId, options } = (await post('/api/me/passkeys/options', {}, session)).json();
    const response = new SoftwareAuthenticator(t.config.publicUrl).register(options);
    const foreign = await post('/api/me/passkeys', { challengeId, response, name: 'x' }, other);
    expect(foreign.statusCode).toBe(401);
    expect(foreign.json().code).toBe('AUTH_PASSKEY_INVALID');
    // The foreign attempt used the challenge up.
    const own = await post('/api/me/passkeys', { challengeId, response, name: 'x' }, session);
    expect(own.json().code).toBe('AUTH_PASSKEY_INVALID');
  });

  it('refuses an answer made for another origin', async () => {
    const user = await createUser(t.app.db, tenant.id);
    const session = await signIn(t.app, user.email, TEST_PASSWORD);
    const { challengeId, options } = (await post('/api/me/passkeys/options', {}, session)).json();
    const response = new SoftwareAuthenticator('https://evil.example').register(options);
    const res = await post('/api/me/passkeys', { challengeId, response, name: 'x' }, session);
    expect(res.json().code).toBe('AUTH_PASSKEY_INVALID');
  });
});

describe('passwordless sign-in', () => {
  it('signs in with the passkey alone and updates its counter', async () => {
    const { user, key } = await userWithPasskey();
    const { challengeId, options } = await loginOptions();
    expect(options.userVerification).toBe('required');
    expect(options.allowCredentials ?? []).toEqual([]);
    const res = await post('/api/auth/passkey/verify', {
      challengeId,
      response: key.authenticate(options),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().session.user.id).toBe(user.id);
    const [row] = await t.app.db
      .select()
      .from(webauthnCredentials)
      .where(eq(webauthnCredentials.id, key.id));
    expect(row!.counter).toBe(key.counter);
    expect(row!.lastUsedAt).not.toBeNull();
  });

  it('refuses a wrong signature', async () => {
    const { key } = await userWithPasskey();
    const { challengeId, options } = await loginOptions();
    const res = await post('/api/auth/passkey/verify', {
      challengeId,
      response: key.authenticate(options, { corruptSignature: true }),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('AUTH_PASSKEY_INVALID');
  });

  it('refuses an answer without user verification', async () => {
    const { key } = await userWithPasskey();
    const { challengeId, options } = await loginOptions();
    const res = await post('/api/auth/passkey/verify', {
      challengeId,
      response: key.authenticate(options, { userVerified: false }),
    });
    expect(res.json().code).toBe('AUTH_PASSKEY_INVALID');
  });

  it('accepts each challenge once', async () => {
    const { key } = await userWithPasskey();
    const { challengeId, options } = await loginOptions();
    const response = key.authenticate(options);
    expect((await post('/api/auth/passkey/verify', { challengeId, response })).statusCode).toBe(
      200,
    );
    const replay = await post('/api/auth/passkey/verify', { challengeId, response });
    expect(replay.json().code).toBe('AUTH_PASSKEY_INVALID');
  });

  it('refuses a counter that went backwards (a cloned authenticator)', async () => {
    const { key } = await userWithPasskey();
    for (let i = 0; i < 2; i += 1) {
      const { challengeId, options } = await loginOptions();
      const res = await post('/api/auth/passkey/verify', {
        challengeId,
        response: key.authenticate(options),
      });
      expect(res.statusCode).toBe(200);
    }
    const { challengeId, options } = await loginOptions();
    const res = await post('/api/auth/passkey/verify', {
      challengeId,
      response: key.authenticate(options, { counter: 1 }),
    });
    expect(res.json().code).toBe('AUTH_PASSKEY_INVALID');
  });

  it('refuses a deactivated user', async () => {
    const { user, key } = await userWithPasskey();
    await t.app.db.update(users).set({ active: false }).where(eq(users.id, user.id));
    const { challengeId, options } = await loginOptions();
    const res = await post('/api/auth/passkey/verify', {
      challengeId,
      response: key.authenticate(options),
    });
    expect(res.json().code).toBe('AUTH_PASSKEY_INVALID');
  });
});

describe('passkey as second factor', () => {
  it('is offered after the password and completes the sign-in', async () => {
    const { user, key } = await userWithPasskey();
    const step = await post('/api/auth/login', { email: user.email, password: TEST_PASSWORD });
    expect(step.json()).toMatchObject({ status: 'mfa_required', methods: ['passkey'] });
    const { mfaToken } = step.json<{ mfaToken: string }>();
    const { challengeId, options } = await loginOptions(mfaToken);
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([key.id]);
    const res = await post('/api/auth/passkey/verify', {
      challengeId,
      mfaToken,
      response: key.authenticate(options, { userVerified: false }),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().session.user.id).toBe(user.id);
  });

  it('refuses another user’s passkey for this sign-in', async () => {
    const { user } = await userWithPasskey();
    const { key: otherKey } = await userWithPasskey();
    const { mfaToken } = (
      await post('/api/auth/login', { email: user.email, password: TEST_PASSWORD })
    ).json<{ mfaToken: string }>();
    const { challengeId, options } = await loginOptions(mfaToken);
    const res = await post('/api/auth/passkey/verify', {
      challengeId,
      mfaToken,
      response: otherKey.authenticate({ ...options, allowCredentials: [] }),
    });
    expect(res.json().code).toBe('AUTH_PASSKEY_INVALID');
    const failed = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.action, 'auth.mfa_failed')));
    expect(failed.some((r) => r.targetId === user.id)).toBe(true);
  });

  it('refuses a wrong signature', async () => {
    const { user, key } = await userWithPasskey();
    const { mfaToken } = (
      await post('/api/auth/login', { email: user.email, password: TEST_PASSWORD })
    ).json<{ mfaToken: string }>();
    const { challengeId, options } = await loginOptions(mfaToken);
    const res = await post('/api/auth/passkey/verify', {
      challengeId,
      mfaToken,
      response: key.authenticate(options, { corruptSignature: true }),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('AUTH_PASSKEY_INVALID');
  });
});

describe('removing a passkey', () => {
  it('removes it so it no longer signs in, and keeps others’ passkeys out of reach', async () => {
    const { session, key } = await userWithPasskey();
    const { session: otherSession } = await userWithPasskey();
    const foreign = await t.app.inject({
      method: 'DELETE',
      url: `/api/me/passkeys/${key.id}`,
      headers: bearer(otherSession),
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().code).toBe('AUTH_PASSKEY_NOT_FOUND');

    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/me/passkeys/${key.id}`,
      headers: bearer(session),
    });
    expect(res.statusCode).toBe(204);
    const { challengeId, options } = await loginOptions();
    const login = await post('/api/auth/passkey/verify', {
      challengeId,
      response: key.authenticate(options),
    });
    expect(login.json().code).toBe('AUTH_PASSKEY_INVALID');
    expect((await verifyAuditChain(t.app.db, tenant.id)).ok).toBe(true);
  });
});
