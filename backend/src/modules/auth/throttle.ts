import { eq, inArray } from 'drizzle-orm';
import type { Config } from '../../config.ts';
import type { Db, Tx } from '../../db/client.ts';
import { loginThrottle } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { sha256Hex } from '../../lib/tokens.ts';

/**
 * Temporary lockout after repeated failed sign-ins. Counters live in `login_throttle`,
 * keyed by a hash of the account name (the lowercased email, whether or not such a user
 * exists, so unknown names behave exactly like real ones) and by a hash of the client
 * address. `loginMaxFailures` failures within `loginLockoutSeconds` lock the key for
 * `loginLockoutSeconds`; the database is shared, so this holds across backend nodes.
 *
 * The address limit is ADDRESS_FAILURE_FACTOR times the account limit: a whole fire
 * station behind one NAT address must not be locked out by one colleague's typos, while
 * a password-spraying client still gets stopped.
 */
export const ADDRESS_FAILURE_FACTOR = 5;

export interface LoginSubject {
  /** Lowercased account name, when the attempt names one. */
  email: string | null;
  ip: string;
}

interface ThrottleKey {
  hash: string;
  scope: 'account' | 'address';
  max: number;
}

type ThrottleConfig = Pick<Config, 'loginMaxFailures' | 'loginLockoutSeconds'>;

function keysOf(config: ThrottleConfig, subject: LoginSubject): ThrottleKey[] {
  const keys: ThrottleKey[] = [];
  if (subject.email !== null) {
    keys.push({
      hash: sha256Hex(`account:${subject.email}`),
      scope: 'account',
      max: config.loginMaxFailures,
    });
  }
  keys.push({
    hash: sha256Hex(`address:${subject.ip}`),
    scope: 'address',
    max: config.loginMaxFailures * ADDRESS_FAILURE_FACTOR,
  });
  // A fixed order, so two transactions bumping the same keys cannot deadlock.
  return keys.sort((a, b) => (a.hash < b.hash ? -1 : 1));
}

/**
 * Refuses the attempt while the account name or the address is locked. Called before
 * any password or code is checked, so a locked attempt learns nothing.
 * @throws AppError AUTH_LOCKED with details.retryAfterSeconds
 */
export async function assertNotLocked(
  db: Db,
  config: ThrottleConfig,
  subject: LoginSubject,
): Promise<void> {
  const keys = keysOf(config, subject);
  const rows = await db
    .select({ lockedUntil: loginThrottle.lockedUntil })
    .from(loginThrottle)
    .where(
      inArray(
        loginThrottle.keyHash,
        keys.map((k) => k.hash),
      ),
    );
  const now = Date.now();
  const until = Math.max(0, ...rows.map((r) => r.lockedUntil?.getTime() ?? 0));
  if (until > now) {
    const retryAfterSeconds = Math.max(1, Math.ceil((until - now) / 1000));
    throw appError('AUTH_LOCKED', undefined, { retryAfterSeconds });
  }
}

/**
 * Counts one failed attempt against the account name and the address. Returns the
 * scopes that this failure locked (for the audit log); the attempt itself is answered
 * as the failure it was, the next one gets AUTH_LOCKED.
 */
export async function recordLoginFailure(
  db: Db,
  config: ThrottleConfig,
  subject: LoginSubject,
): Promise<Array<'account' | 'address'>> {
  const keys = keysOf(config, subject);
  return db.transaction(async (tx) => {
    const locked: Array<'account' | 'address'> = [];
    for (const key of keys) {
      if (await bump(tx, key, config.loginLockoutSeconds * 1000)) locked.push(key.scope);
    }
    return locked;
  });
}

/** Returns true when this failure started a lockout. */
async function bump(tx: Tx, key: ThrottleKey, periodMs: number): Promise<boolean> {
  const now = new Date();
  await tx
    .insert(loginThrottle)
    .ignore()
    .values({ keyHash: key.hash, failures: 0, windowStartedAt: now });
  const [row] = await tx
    .select()
    .from(loginThrottle)
    .where(eq(loginThrottle.keyHash, key.hash))
    .for('update');
  if (!row) throw new Error('login_throttle row missing after insert');
  const lockedNow = row.lockedUntil !== null && row.lockedUntil > now;
  const lockOver = row.lockedUntil !== null && row.lockedUntil <= now;
  const windowOver = row.windowStartedAt.getTime() + periodMs <= now.getTime();
  const restart = lockOver || (windowOver && !lockedNow);
  const failures = restart ? 1 : row.failures + 1;
  const startsLock = !lockedNow && failures >= key.max;
  await tx
    .update(loginThrottle)
    .set({
      failures,
      windowStartedAt: restart ? now : row.windowStartedAt,
      lockedUntil: startsLock
        ? new Date(now.getTime() + periodMs)
        : restart
          ? null
          : row.lockedUntil,
    })
    .where(eq(loginThrottle.keyHash, key.hash));
  return startsLock;
}

/** A successful sign-in forgets the account's failures (the address counter stays). */
export async function clearAccountFailures(db: Db, email: string): Promise<void> {
  await db.delete(loginThrottle).where(eq(loginThrottle.keyHash, sha256Hex(`account:${email}`)));
}
