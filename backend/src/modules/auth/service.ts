import { and, count, eq } from 'drizzle-orm';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Tx } from '../../db/client.ts';
import { devices, users, webauthnCredentials } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { sha256Hex, signStatement, verifyStatement } from '../../lib/tokens.ts';
import { PLATFORM_CHAIN, recordAudit } from '../audit/service.ts';
import { findDevice, revokeDevice } from '../devices/service.ts';
import { findDeviceByAccessToken } from './access-token.ts';
import { verifyPassword } from './passwords.ts';
import type { LoginResult, MfaMethod, Session } from './schemas.ts';
import {
  DEVICE_LIMIT_PURPOSE,
  STEP_TOKEN_TTL_SECONDS,
  issueSession,
  type AuthDeps,
  type ClientInfo,
} from './sessions.ts';
import {
  assertNotLocked,
  clearAccountFailures,
  recordLoginFailure,
  type LoginSubject,
} from './throttle.ts';
import { consumeRecoveryCode, matchTotpCode, useTotpStep } from './totp.ts';
import { usePasskeyCounter, verifyPasskeyAssertion } from './webauthn.ts';

/**
 * The sign-in steps: password, then (if the user has one) a second factor — TOTP, a
 * recovery code or a passkey — or a passkey alone. Every failure counts towards the
 * lockout; wrong password, unknown email and deactivated user look exactly alike.
 */

const MFA_PURPOSE = 'mfa';

type UserRow = typeof users.$inferSelect;

interface StepClaims extends Record<string, unknown> {
  uid: string;
  tid: string;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Counts a failed attempt, audits it (in the user's tenant, or — for a name that is no
 * account — in the platform chain with only a hash of the name) and audits a lockout it
 * starts. Callers then throw the step's own error.
 */
async function failAttempt(
  deps: AuthDeps,
  subject: LoginSubject,
  user: Pick<UserRow, 'id' | 'tenantId'> | null,
  action: 'auth.login_failed' | 'auth.mfa_failed',
  reason: string,
): Promise<void> {
  const locked = await recordLoginFailure(deps.db, deps.config, subject);
  const chain = user?.tenantId ?? PLATFORM_CHAIN;
  const target = user ? { type: 'user', id: user.id } : undefined;
  const details = user
    ? { reason }
    : { reason, ...(subject.email ? { emailHash: sha256Hex(subject.email) } : {}) };
  await recordAudit(deps.db, chain, {
    action,
    actor: { userId: null, ip: subject.ip },
    ...(target ? { target } : {}),
    details,
  });
  if (locked.length > 0) {
    await recordAudit(deps.db, chain, {
      action: 'auth.locked',
      actor: { userId: null, ip: subject.ip },
      ...(target ? { target } : {}),
      details: {
        scopes: locked,
        lockoutSeconds: deps.config.loginLockoutSeconds,
        ...(user || !subject.email ? {} : { emailHash: sha256Hex(subject.email) }),
      },
    });
  }
}

async function findUserByEmail(deps: AuthDeps, email: string): Promise<UserRow | null> {
  const [user] = await deps.db.select().from(users).where(eq(users.email, email)).limit(1);
  return user ?? null;
}

async function secondFactors(deps: AuthDeps, user: UserRow): Promise<MfaMethod[]> {
  const [passkeys] = await deps.db
    .select({ n: count() })
    .from(webauthnCredentials)
    .where(
      and(eq(webauthnCredentials.tenantId, user.tenantId), eq(webauthnCredentials.userId, user.id)),
    );
  const methods: MfaMethod[] = [];
  if (user.totpEnabledAt) methods.push('totp', 'recovery');
  if (Number(passkeys?.n ?? 0) > 0) methods.push('passkey');
  return methods;
}

/**
 * Step 1: email and password. Answers a session, or an `mfaToken` (5 min) naming the
 * second factors the user has.
 * @throws AppError AUTH_LOCKED, AUTH_INVALID_CREDENTIALS, DEVICE_LIMIT_REACHED
 */
export async function loginWithPassword(
  deps: AuthDeps,
  input: { email: string; password: string },
  client: ClientInfo,
): Promise<LoginResult> {
  const email = normaliseEmail(input.email);
  const subject: LoginSubject = { email, ip: client.ip };
  await assertNotLocked(deps.db, deps.config, subject);
  const user = await findUserByEmail(deps, email);
  // Always verify (against a dummy hash when there is no user), so timing tells nothing.
  const passwordOk = await verifyPassword(user?.passwordHash ?? null, input.password);
  if (!user || !passwordOk || !user.active) {
    const reason = !user ? 'unknown_account' : !user.active ? 'inactive' : 'wrong_password';
    await failAttempt(deps, subject, user, 'auth.login_failed', reason);
    throw appError('AUTH_INVALID_CREDENTIALS');
  }
  await clearAccountFailures(deps.db, email);
  const methods = await secondFactors(deps, user);
  if (methods.length > 0) {
    const mfaToken = signStatement(
      deps.config.tokenSecret,
      MFA_PURPOSE,
      { uid: user.id, tid: user.tenantId },
      STEP_TOKEN_TTL_SECONDS,
    );
    return { status: 'mfa_required', mfaToken, methods };
  }
  const session = await issueSession(deps, user.tenantId, user.id, client, { method: 'password' });
  return { status: 'ok', session };
}

/** @throws AppError AUTH_MFA_TOKEN_INVALID */
async function userOfMfaToken(deps: AuthDeps, mfaToken: string): Promise<UserRow> {
  const claims = verifyStatement<StepClaims>(deps.config.tokenSecret, MFA_PURPOSE, mfaToken);
  if (!claims || typeof claims.uid !== 'string' || typeof claims.tid !== 'string') {
    throw appError('AUTH_MFA_TOKEN_INVALID');
  }
  const [user] = await deps.db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, claims.tid), eq(users.id, claims.uid)))
    .limit(1);
  if (!user || !user.active) throw appError('AUTH_MFA_TOKEN_INVALID');
  return user;
}

/**
 * Step 2 with a TOTP or recovery code. The code is spent only when a session is issued,
 * so a sign-in refused for the device limit can be retried with the same code.
 * @throws AppError AUTH_MFA_TOKEN_INVALID, AUTH_LOCKED, AUTH_MFA_INVALID, DEVICE_LIMIT_REACHED
 */
export async function loginWithMfaCode(
  deps: AuthDeps,
  input: { mfaToken: string; method: 'totp' | 'recovery'; code: string },
  client: ClientInfo,
): Promise<Session> {
  const user = await userOfMfaToken(deps, input.mfaToken);
  const subject: LoginSubject = { email: user.email, ip: client.ip };
  await assertNotLocked(deps.db, deps.config, subject);

  let consume: ((tx: Tx) => Promise<void>) | null = null;
  if (input.method === 'totp' && user.totpEnabledAt) {
    const step = await matchTotpCode(user.totpSecret, user.totpLastStep, input.code);
    if (step !== null) {
      consume = async (tx) => {
        if (!(await useTotpStep(tx, user.tenantId, user.id, step)))
          throw appError('AUTH_MFA_INVALID');
      };
    }
  } else if (input.method === 'recovery' && user.totpEnabledAt) {
    consume = async (tx) => {
      if (!(await consumeRecoveryCode(tx, user.tenantId, user.id, input.code))) {
        throw appError('AUTH_MFA_INVALID');
      }
      await recordAudit(tx, user.tenantId, {
        action: 'auth.recovery_code_used',
        actor: { userId: user.id, ip: client.ip },
        target: { type: 'user', id: user.id },
      });
    };
  }

  try {
    if (!consume) throw appError('AUTH_MFA_INVALID');
    const session = await issueSession(deps, user.tenantId, user.id, client, {
      method: input.method,
      consume,
    });
    await clearAccountFailures(deps.db, user.email);
    return session;
  } catch (error) {
    if ((error as { code?: string }).code === 'AUTH_MFA_INVALID') {
      await failAttempt(deps, subject, user, 'auth.mfa_failed', input.method);
    }
    throw error;
  }
}

/**
 * The user a passkey step is for: the one the `mfaToken` names (second factor), or null
 * for a passwordless sign-in.
 * @throws AppError AUTH_MFA_TOKEN_INVALID
 */
export async function passkeyLoginUser(
  deps: AuthDeps,
  mfaToken: string | undefined,
): Promise<{ tenantId: string; userId: string } | null> {
  if (mfaToken === undefined) return null;
  const user = await userOfMfaToken(deps, mfaToken);
  return { tenantId: user.tenantId, userId: user.id };
}

/**
 * Signs in with a passkey: as the second factor (with `mfaToken`) or passwordless.
 * @throws AppError AUTH_MFA_TOKEN_INVALID, AUTH_LOCKED, AUTH_PASSKEY_INVALID, DEVICE_LIMIT_REACHED
 */
export async function loginWithPasskey(
  deps: AuthDeps,
  input: { challengeId: string; response: AuthenticationResponseJSON; mfaToken?: string },
  client: ClientInfo,
): Promise<Session> {
  const expected = input.mfaToken === undefined ? null : await userOfMfaToken(deps, input.mfaToken);
  const lockSubject: LoginSubject = { email: expected?.email ?? null, ip: client.ip };
  await assertNotLocked(deps.db, deps.config, lockSubject);

  const result = await verifyPasskeyAssertion(deps, {
    challengeId: input.challengeId,
    response: input.response,
    expectedUser: expected ? { tenantId: expected.tenantId, userId: expected.id } : null,
  });
  const owner = result.ok ? result : result.owner;
  const [user] = owner
    ? await deps.db
        .select()
        .from(users)
        .where(and(eq(users.tenantId, owner.tenantId), eq(users.id, owner.userId)))
        .limit(1)
    : [];
  const subject: LoginSubject = { email: user?.email ?? null, ip: client.ip };
  if (!result.ok || !user || !user.active) {
    await failAttempt(
      deps,
      subject,
      user ?? null,
      expected ? 'auth.mfa_failed' : 'auth.login_failed',
      !result.ok ? 'passkey' : 'inactive',
    );
    throw appError('AUTH_PASSKEY_INVALID');
  }
  // Passwordless: the account's own lock applies too, now that we know the account.
  if (!expected) await assertNotLocked(deps.db, deps.config, subject);
  const session = await issueSession(deps, user.tenantId, user.id, client, {
    method: 'passkey',
    consume: async (tx) => {
      if (
        !(await usePasskeyCounter(
          tx,
          user.tenantId,
          result.credentialId,
          result.oldCounter,
          result.newCounter,
        ))
      ) {
        throw appError('AUTH_PASSKEY_INVALID');
      }
    },
  });
  await clearAccountFailures(deps.db, user.email);
  return session;
}

/**
 * Signs out one of the devices listed in a DEVICE_LIMIT_REACHED answer (with wipe), so
 * the user can retry the sign-in.
 * @throws AppError AUTH_MFA_TOKEN_INVALID (bad or expired token), DEVICE_NOT_FOUND
 */
export async function revokeForDeviceLimit(
  deps: AuthDeps,
  input: { limitToken: string; deviceId: string },
  client: ClientInfo,
): Promise<void> {
  const claims = verifyStatement<StepClaims>(
    deps.config.tokenSecret,
    DEVICE_LIMIT_PURPOSE,
    input.limitToken,
  );
  if (!claims || typeof claims.uid !== 'string' || typeof claims.tid !== 'string') {
    throw appError('AUTH_MFA_TOKEN_INVALID');
  }
  const device = await findDevice(deps.db, claims.tid, input.deviceId);
  if (!device || device.userId !== claims.uid || device.revokedAt) {
    throw appError('DEVICE_NOT_FOUND');
  }
  await revokeDevice(deps, claims.tid, device.id, {
    reason: 'user',
    wipe: true,
    actor: { userId: claims.uid, ip: client.ip },
  });
}

/**
 * A revoked device reports that it erased its local data (it authenticates with its old
 * access token, which still identifies it). Recorded once; repeats and reports from
 * devices that were not asked to wipe change nothing.
 * @throws AppError AUTH_TOKEN_INVALID when the token names no device
 */
export async function confirmWipe(
  deps: AuthDeps,
  accessToken: string,
  client: ClientInfo,
): Promise<void> {
  const found = await findDeviceByAccessToken(deps.db, accessToken);
  if (!found) throw appError('AUTH_TOKEN_INVALID');
  await deps.db.transaction(async (tx) => {
    const [device] = await tx
      .select()
      .from(devices)
      .where(and(eq(devices.tenantId, found.tenantId), eq(devices.id, found.id)))
      .for('update');
    if (!device?.revokedAt || !device.wipeRequested || device.wipeConfirmedAt) return;
    await tx
      .update(devices)
      .set({ wipeConfirmedAt: new Date() })
      .where(and(eq(devices.tenantId, device.tenantId), eq(devices.id, device.id)));
    await recordAudit(tx, device.tenantId, {
      action: 'device.wipe_confirmed',
      actor: { userId: device.userId, deviceId: device.id, ip: client.ip },
      target: { type: 'device', id: device.id },
      details: { userId: device.userId, deviceName: device.name },
    });
  });
}
