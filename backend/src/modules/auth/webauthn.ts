import { and, asc, eq, lt } from 'drizzle-orm';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Config } from '../../config.ts';
import type { Db, DbOrTx } from '../../db/client.ts';
import { authChallenges, users, webauthnCredentials } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { newId } from '../../lib/ids.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import type { Passkey } from '../me/schemas.ts';

/**
 * Passkeys (WebAuthn) as a second factor after the password, or on their own
 * (passwordless, discoverable credential with user verification). The relying party is
 * the host of PUBLIC_URL; the expected origin is PUBLIC_URL itself. Every challenge is
 * stored in `auth_challenges` and can be answered once, within CHALLENGE_TTL_MS.
 */

const RP_NAME = 'Trupp';
const CHALLENGE_TTL_MS = 5 * 60_000;
/** ES256 and RS256: what platform authenticators and security keys offer. */
const ALGORITHMS = [-7, -257];

type ChallengePurpose = 'passkey_register' | 'passkey_login' | 'passkey_mfa';

export function relyingParty(config: Pick<Config, 'publicUrl'>): { rpID: string; origin: string } {
  return { rpID: new URL(config.publicUrl).hostname, origin: config.publicUrl };
}

/** The WebAuthn user handle: the user id's bytes, so a passwordless answer names its user. */
function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId, 'utf8'));
}

async function storeChallenge(
  db: Db,
  purpose: ChallengePurpose,
  userId: string | null,
  challenge: string,
): Promise<string> {
  const now = new Date();
  // Housekeeping: unanswered challenges are useless once expired.
  await db.delete(authChallenges).where(lt(authChallenges.expiresAt, now));
  const id = newId();
  await db.insert(authChallenges).values({
    id,
    challenge,
    purpose,
    userId,
    expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS),
  });
  return id;
}

/** Takes a challenge out of the store: of two answers to one challenge only one gets it. */
async function takeChallenge(
  db: Db,
  id: string,
  purpose: ChallengePurpose,
): Promise<{ challenge: string; userId: string | null } | null> {
  const [row] = await db
    .select()
    .from(authChallenges)
    .where(and(eq(authChallenges.id, id), eq(authChallenges.purpose, purpose)))
    .limit(1);
  if (!row) return null;
  const [deleted] = await db.delete(authChallenges).where(eq(authChallenges.id, id));
  if (deleted.affectedRows !== 1 || row.expiresAt.getTime() <= Date.now()) return null;
  return { challenge: row.challenge, userId: row.userId };
}

async function credentialsOf(db: DbOrTx, tenantId: string, userId: string) {
  return db
    .select()
    .from(webauthnCredentials)
    .where(and(eq(webauthnCredentials.tenantId, tenantId), eq(webauthnCredentials.userId, userId)))
    .orderBy(asc(webauthnCredentials.createdAt));
}

/**
 * Registration options for a new passkey of the signed-in user (a discoverable
 * credential, so it can sign in without a password later).
 * @throws AppError USER_NOT_FOUND
 */
export async function passkeyRegistrationOptions(
  deps: { db: Db; config: Config },
  tenantId: string,
  userId: string,
): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
  const [user] = await deps.db
    .select({ email: users.email, displayName: users.displayName })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)));
  if (!user) throw appError('USER_NOT_FOUND');
  const existing = await credentialsOf(deps.db, tenantId, userId);
  const options = await generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: relyingParty(deps.config).rpID,
    userName: user.email,
    userID: userHandle(userId),
    userDisplayName: user.displayName,
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    supportedAlgorithmIDs: ALGORITHMS,
  });
  const challengeId = await storeChallenge(deps.db, 'passkey_register', userId, options.challenge);
  return { challengeId, options };
}

function toPasskey(row: typeof webauthnCredentials.$inferSelect): Passkey {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

/**
 * Verifies a registration answer and stores the new passkey.
 * @throws AppError AUTH_PASSKEY_INVALID (unknown/expired challenge, failed verification,
 *   credential already registered)
 */
export async function registerPasskey(
  deps: { db: Db; config: Config },
  tenantId: string,
  actor: AuditActor & { userId: string },
  input: { challengeId: string; response: RegistrationResponseJSON; name: string },
): Promise<Passkey> {
  const challenge = await takeChallenge(deps.db, input.challengeId, 'passkey_register');
  if (!challenge || challenge.userId !== actor.userId) throw appError('AUTH_PASSKEY_INVALID');
  const { rpID, origin } = relyingParty(deps.config);
  const verification = await verifyRegistrationResponse({
    response: input.response,
    expectedChallenge: challenge.challenge,
    expectedOrigin: origin,
    expectedRPID: rpID,
    requireUserVerification: false,
    supportedAlgorithmIDs: ALGORITHMS,
  }).catch(() => null);
  if (!verification?.verified) throw appError('AUTH_PASSKEY_INVALID');
  const { credential, credentialBackedUp } = verification.registrationInfo;
  const name = input.name.trim() || 'Passkey';

  return deps.db.transaction(async (tx) => {
    const [taken] = await tx
      .select({ id: webauthnCredentials.id })
      .from(webauthnCredentials)
      .where(eq(webauthnCredentials.id, credential.id));
    if (taken) throw appError('AUTH_PASSKEY_INVALID');
    const row = {
      id: credential.id,
      tenantId,
      userId: actor.userId,
      name,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? input.response.response.transports ?? [],
      backedUp: credentialBackedUp,
      createdAt: new Date(),
      lastUsedAt: null,
    };
    await tx.insert(webauthnCredentials).values(row);
    await recordAudit(tx, tenantId, {
      action: 'auth.passkey_added',
      actor,
      target: { type: 'passkey', id: row.id },
      details: { name },
    });
    return toPasskey(row);
  });
}

export async function listPasskeys(db: Db, tenantId: string, userId: string): Promise<Passkey[]> {
  return (await credentialsOf(db, tenantId, userId)).map(toPasskey);
}

/** @throws AppError AUTH_PASSKEY_NOT_FOUND (also for another user's or tenant's passkey) */
export async function deletePasskey(
  db: Db,
  tenantId: string,
  actor: AuditActor & { userId: string },
  passkeyId: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .select({ id: webauthnCredentials.id, name: webauthnCredentials.name })
      .from(webauthnCredentials)
      .where(
        and(
          eq(webauthnCredentials.tenantId, tenantId),
          eq(webauthnCredentials.userId, actor.userId),
          eq(webauthnCredentials.id, passkeyId),
        ),
      )
      .for('update');
    if (!row) throw appError('AUTH_PASSKEY_NOT_FOUND');
    await tx.delete(webauthnCredentials).where(eq(webauthnCredentials.id, row.id));
    await recordAudit(tx, tenantId, {
      action: 'auth.passkey_removed',
      actor,
      target: { type: 'passkey', id: row.id },
      details: { name: row.name },
    });
  });
}

/**
 * Options for signing in with a passkey. With a user (second factor after the password)
 * the allowed credentials are theirs; without (passwordless) any discoverable credential
 * of this site may answer, and user verification is required.
 */
export async function passkeyAuthenticationOptions(
  deps: { db: Db; config: Config },
  user: { tenantId: string; userId: string } | null,
): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  const { rpID } = relyingParty(deps.config);
  const allowCredentials = user
    ? (await credentialsOf(deps.db, user.tenantId, user.userId)).map((c) => ({
        id: c.id,
        transports: c.transports,
      }))
    : undefined;
  const options = await generateAuthenticationOptions({
    rpID,
    ...(allowCredentials ? { allowCredentials } : {}),
    userVerification: user ? 'preferred' : 'required',
  });
  const challengeId = await storeChallenge(
    deps.db,
    user ? 'passkey_mfa' : 'passkey_login',
    user?.userId ?? null,
    options.challenge,
  );
  return { challengeId, options };
}

export type AssertionResult =
  | {
      ok: true;
      tenantId: string;
      userId: string;
      credentialId: string;
      oldCounter: number;
      newCounter: number;
    }
  /** `owner` is the credential's user when the answer named a known credential. */
  | { ok: false; owner: { tenantId: string; userId: string } | null };

/**
 * Verifies a sign-in answer (signature over the stored challenge, origin, RP ID, counter).
 * Uses up the challenge; does not yet store the new counter (see `usePasskeyCounter`).
 */
export async function verifyPasskeyAssertion(
  deps: { db: Db; config: Config },
  input: {
    challengeId: string;
    response: AuthenticationResponseJSON;
    /** Set for the second-factor step: the credential must be this user's. */
    expectedUser: { tenantId: string; userId: string } | null;
  },
): Promise<AssertionResult> {
  const { expectedUser, response } = input;
  const challenge = await takeChallenge(
    deps.db,
    input.challengeId,
    expectedUser ? 'passkey_mfa' : 'passkey_login',
  );
  if (!challenge || (expectedUser && challenge.userId !== expectedUser.userId)) {
    return { ok: false, owner: expectedUser };
  }
  const [credential] = await deps.db
    .select()
    .from(webauthnCredentials)
    .where(eq(webauthnCredentials.id, response.id))
    .limit(1);
  if (!credential) return { ok: false, owner: expectedUser };
  const owner = { tenantId: credential.tenantId, userId: credential.userId };
  if (
    expectedUser &&
    (credential.tenantId !== expectedUser.tenantId || credential.userId !== expectedUser.userId)
  ) {
    return { ok: false, owner: expectedUser };
  }
  const handle = response.response.userHandle;
  if (handle && Buffer.from(handle, 'base64url').toString('utf8') !== credential.userId) {
    return { ok: false, owner };
  }
  const { rpID, origin } = relyingParty(deps.config);
  const verification = await verifyAuthenticationResponse({
    response,
    expectedChallenge: challenge.challenge,
    expectedOrigin: origin,
    expectedRPID: rpID,
    credential: {
      id: credential.id,
      publicKey: new Uint8Array(Buffer.from(credential.publicKey, 'base64url')),
      counter: credential.counter,
      transports: credential.transports,
    },
    requireUserVerification: expectedUser === null,
  }).catch(() => null);
  if (!verification?.verified) return { ok: false, owner };
  return {
    ok: true,
    ...owner,
    credentialId: credential.id,
    oldCounter: credential.counter,
    newCounter: verification.authenticationInfo.newCounter,
  };
}

/**
 * Stores the authenticator's new signature counter. Compare-and-set on the old value, so
 * a replayed or raced answer with the same counter cannot sign in twice.
 */
export async function usePasskeyCounter(
  db: DbOrTx,
  tenantId: string,
  credentialId: string,
  oldCounter: number,
  newCounter: number,
): Promise<boolean> {
  const [result] = await db
    .update(webauthnCredentials)
    .set({ counter: newCounter, lastUsedAt: new Date() })
    .where(
      and(
        eq(webauthnCredentials.tenantId, tenantId),
        eq(webauthnCredentials.id, credentialId),
        eq(webauthnCredentials.counter, oldCounter),
      ),
    );
  return result.affectedRows === 1;
}
