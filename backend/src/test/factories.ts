import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { generate, generateSecret } from 'otplib';
import { MFA_REQUIRED_ROLES, type Role } from '@trupp/shared';
import type { Db } from '../db/client.ts';
import {
  devices,
  qualifications,
  tenants,
  units,
  userQualifications,
  userUnits,
  users,
} from '../db/schema.ts';
import { sha256Hex } from '../lib/tokens.ts';
import { hashPassword } from '../modules/auth/passwords.ts';
import type { LoginResult, Session } from '../modules/auth/schemas.ts';

/**
 * Small factories for tests: rows inserted directly (fast, no routes involved), and
 * `signIn` which goes through the real sign-in routes. Add functions; do not change the
 * behaviour of existing ones, other test files rely on it.
 */

/** Password every factory user gets unless told otherwise (long enough for the policy). */
export const TEST_PASSWORD = 'correct-horse-battery';

const tag = () => randomBytes(4).toString('hex');

export interface TestTenant {
  id: string;
  name: string;
  slug: string;
}

export async function createTenant(
  db: Db,
  options: { name?: string; slug?: string } = {},
): Promise<TestTenant> {
  const t = tag();
  const now = new Date();
  const row = {
    id: randomUUID(),
    name: options.name ?? `Fire Brigade ${t}`,
    slug: options.slug ?? `fb-${t}`,
  };
  await db.insert(tenants).values({ ...row, createdAt: now, updatedAt: now });
  return row;
}

export interface TestUser {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  role: Role;
  /** The plain password, or null for a user who has none yet (invited). */
  password: string | null;
  /** Base32 TOTP secret when TOTP is enabled, for `totpCode()`. */
  totpSecret: string | null;
}

export interface CreateUserOptions {
  role?: Role;
  email?: string;
  displayName?: string;
  /** Defaults to TEST_PASSWORD; null for a user without a password. */
  password?: string | null;
  /**
   * Enable TOTP. Defaults to true for roles that must have it (admin, dispatcher), so such
   * a user can act right after `signIn`; pass false to test the enrolment requirement.
   */
  totp?: boolean;
  active?: boolean;
  isSuperadmin?: boolean;
  locale?: string | null;
  unitIds?: string[];
  qualificationIds?: string[];
}

/** argon2 is slow on purpose; tests reuse one hash per distinct password. */
const hashCache = new Map<string, Promise<string>>();
function cachedHash(password: string): Promise<string> {
  let hash = hashCache.get(password);
  if (!hash) {
    hash = hashPassword(password);
    hashCache.set(password, hash);
  }
  return hash;
}

/** Inserts a user (default role 'member', password TEST_PASSWORD) with optional units and qualifications. */
export async function createUser(
  db: Db,
  tenantId: string,
  options: CreateUserOptions = {},
): Promise<TestUser> {
  const role = options.role ?? 'member';
  const t = tag();
  const email = (options.email ?? `${role}.${t}@example.org`).toLowerCase();
  const displayName = options.displayName ?? `${role[0]!.toUpperCase()}${role.slice(1)} ${t}`;
  const password = options.password === undefined ? TEST_PASSWORD : options.password;
  const totp = options.totp ?? MFA_REQUIRED_ROLES.includes(role);
  const totpSecret = totp ? generateSecret() : null;
  const now = new Date();
  const id = randomUUID();
  await db.insert(users).values({
    id,
    tenantId,
    email,
    displayName,
    role,
    isSuperadmin: options.isSuperadmin ?? false,
    passwordHash: password === null ? null : await cachedHash(password),
    active: options.active ?? true,
    locale: options.locale ?? null,
    totpSecret,
    totpEnabledAt: totp ? now : null,
    createdAt: now,
    updatedAt: now,
  });
  if (options.unitIds?.length) {
    await db
      .insert(userUnits)
      .values(options.unitIds.map((unitId) => ({ tenantId, userId: id, unitId })));
  }
  if (options.qualificationIds?.length) {
    await db.insert(userQualifications).values(
      options.qualificationIds.map((qualificationId) => ({
        tenantId,
        userId: id,
        qualificationId,
      })),
    );
  }
  return { id, tenantId, email, displayName, role, password, totpSecret };
}

export async function createUnit(
  db: Db,
  tenantId: string,
  options: { name?: string; kind?: string; parentId?: string | null } = {},
): Promise<{ id: string; name: string }> {
  const now = new Date();
  const row = { id: randomUUID(), name: options.name ?? `Station ${tag()}` };
  await db.insert(units).values({
    ...row,
    tenantId,
    parentId: options.parentId ?? null,
    kind: options.kind ?? '',
    createdAt: now,
    updatedAt: now,
  });
  return row;
}

export async function createQualification(
  db: Db,
  tenantId: string,
  name = `Qualification ${tag()}`,
): Promise<{ id: string; name: string }> {
  const now = new Date();
  const row = { id: randomUUID(), name };
  await db.insert(qualifications).values({ ...row, tenantId, createdAt: now, updatedAt: now });
  return row;
}

/** The current TOTP code for a secret (what the user's authenticator app shows). */
export function totpCode(secret: string, at: Date = new Date()): Promise<string> {
  return generate({ secret, epoch: Math.floor(at.getTime() / 1000) });
}

export interface SignInOptions {
  /** Answer the TOTP step with a code from this secret when the sign-in asks for one. */
  totpSecret?: string | null;
  deviceName?: string;
  userAgent?: string;
  /** Client address the request comes from (login throttling counts per address). */
  ip?: string;
}

/**
 * Signs in through the real routes (password, then TOTP if asked) and returns the session.
 * Each call creates a device: a user can have at most 3 at once, so sign out (or revoke)
 * before a 4th. Throws with the response body when sign-in does not succeed.
 *
 * Test shortcut: a TOTP code is accepted once per 30 s step, so before answering the TOTP
 * step this forgets the user's last used step; otherwise a second sign-in within 30 s
 * would be refused as a replay.
 */
export async function signIn(
  app: FastifyInstance,
  email: string,
  password: string,
  options: SignInOptions = {},
): Promise<Session> {
  const headers = options.userAgent ? { 'user-agent': options.userAgent } : {};
  const remoteAddress = options.ip ?? '127.0.0.1';
  const login = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers,
    remoteAddress,
    payload: { email, password, ...(options.deviceName ? { deviceName: options.deviceName } : {}) },
  });
  if (login.statusCode !== 200) {
    throw new Error(`sign-in of ${email} failed: ${login.statusCode} ${login.body}`);
  }
  const result = login.json<LoginResult>();
  if (result.status === 'ok') return result.session;
  if (!options.totpSecret) {
    throw new Error(`sign-in of ${email} needs a second factor (${result.methods.join(', ')})`);
  }
  await app.db
    .update(users)
    .set({ totpLastStep: null })
    .where(eq(users.email, email.toLowerCase()));
  const mfa = await app.inject({
    method: 'POST',
    url: '/api/auth/login/mfa',
    headers,
    remoteAddress,
    payload: {
      mfaToken: result.mfaToken,
      method: 'totp',
      code: await totpCode(options.totpSecret),
      ...(options.deviceName ? { deviceName: options.deviceName } : {}),
    },
  });
  if (mfa.statusCode !== 200) {
    throw new Error(`second factor of ${email} failed: ${mfa.statusCode} ${mfa.body}`);
  }
  return mfa.json<{ status: 'ok'; session: Session }>().session;
}

/** `signIn` for a factory user, answering TOTP with the user's own secret. */
export function signInAs(
  app: FastifyInstance,
  user: TestUser,
  options: Omit<SignInOptions, 'totpSecret'> = {},
): Promise<Session> {
  if (user.password === null) throw new Error(`${user.email} has no password`);
  return signIn(app, user.email, user.password, { ...options, totpSecret: user.totpSecret });
}

/** Authorization header for a session's access token. */
export function bearer(session: Pick<Session, 'accessToken'>): { authorization: string } {
  return { authorization: `Bearer ${session.accessToken}` };
}

/**
 * A signed-in device for a user, inserted directly — no sign-in routes, no argon2, no
 * TOTP step — for tests that need a caller but do not test signing in. The access token
 * is valid for an hour. Mind the limit of 3 active devices when also using `signIn`.
 */
export async function createDeviceSession(
  db: Db,
  user: Pick<TestUser, 'id' | 'tenantId'>,
  options: { name?: string; userAgent?: string; ip?: string } = {},
): Promise<{ accessToken: string; deviceId: string }> {
  const accessToken = randomBytes(32).toString('base64url');
  const deviceId = randomUUID();
  const now = new Date();
  await db.insert(devices).values({
    id: deviceId,
    tenantId: user.tenantId,
    userId: user.id,
    name: options.name ?? `Device ${tag()}`,
    userAgent: options.userAgent ?? 'vitest',
    accessHash: sha256Hex(accessToken),
    accessExpiresAt: new Date(now.getTime() + 3_600_000),
    refreshHash: sha256Hex(randomBytes(32).toString('base64url')),
    refreshExpiresAt: new Date(now.getTime() + 86_400_000),
    lastSeenAt: now,
    lastIp: options.ip ?? '127.0.0.1',
    createdAt: now,
  });
  return { accessToken, deviceId };
}

type InjectMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/**
 * A small client for route tests: `const admin = apiAs(app, token); await admin('GET', '/api/units')`.
 * With `null`, requests go out without a bearer token.
 */
export function apiAs(app: FastifyInstance, accessToken: string | null) {
  return (method: InjectMethod, url: string, payload?: object) =>
    app.inject({
      method,
      url,
      headers: accessToken === null ? {} : { authorization: `Bearer ${accessToken}` },
      ...(payload === undefined ? {} : { payload }),
    });
}
