import { randomInt } from 'node:crypto';
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import type { DbOrTx } from '../../db/client.ts';
import { recoveryCodes, users } from '../../db/schema.ts';
import { newId } from '../../lib/ids.ts';
import { sha256Hex } from '../../lib/tokens.ts';

/**
 * TOTP (RFC 6238, SHA-1, 6 digits, 30 s, as every authenticator app expects) and the
 * one-time recovery codes that stand in for it. A code is accepted once only: the time
 * step it matched is stored in `users.totp_last_step`, and only later steps pass.
 */

export const TOTP_ISSUER = 'Trupp';
/** Accept the previous and the next code too (clock drift of up to one 30 s step). */
const TOLERANCE_SECONDS = 30;
export const RECOVERY_CODE_COUNT = 10;
/** No 0/o, 1/i/l: codes are read off paper. */
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export function newTotpSecret(): string {
  return generateSecret();
}

/** What an authenticator app needs to add the account: the otpauth URL and it as a QR code. */
export async function totpProvisioning(
  email: string,
  secret: string,
): Promise<{ otpauthUrl: string; qrSvg: string }> {
  const otpauthUrl = generateURI({ issuer: TOTP_ISSUER, label: email, secret });
  const qrSvg = await QRCode.toString(otpauthUrl, { type: 'svg', errorCorrectionLevel: 'M' });
  return { otpauthUrl, qrSvg };
}

/**
 * Checks a code against the secret without using it up. Returns the matched time step,
 * or null when the code is wrong, outside the tolerance, or not newer than `lastStep`.
 */
export async function matchTotpCode(
  secret: string | null,
  lastStep: number | null,
  code: string,
): Promise<number | null> {
  const token = code.replace(/\s+/g, '');
  if (!secret || !/^\d{6}$/.test(token)) return null;
  try {
    const result = await verify({
      secret,
      token,
      epochTolerance: TOLERANCE_SECONDS,
      ...(lastStep !== null ? { afterTimeStep: lastStep } : {}),
    });
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  } catch {
    // A malformed or too short stored secret is a failed check, not a server error.
    return null;
  }
}

/**
 * Marks `step` as used. Compare-and-set, so of two requests racing with the same code
 * only one wins. Returns false when a same or later step was used meanwhile.
 */
export async function useTotpStep(
  db: DbOrTx,
  tenantId: string,
  userId: string,
  step: number,
): Promise<boolean> {
  const [result] = await db
    .update(users)
    .set({ totpLastStep: step })
    .where(
      and(
        eq(users.tenantId, tenantId),
        eq(users.id, userId),
        or(isNull(users.totpLastStep), lt(users.totpLastStep, step)),
      ),
    );
  return result.affectedRows === 1;
}

/** Checks and uses up a code in one go (own-account actions; sign-in uses the two halves). */
export async function consumeTotpCode(
  db: DbOrTx,
  user: { id: string; tenantId: string; totpSecret: string | null; totpLastStep: number | null },
  code: string,
): Promise<boolean> {
  const step = await matchTotpCode(user.totpSecret, user.totpLastStep, code);
  return step !== null && (await useTotpStep(db, user.tenantId, user.id, step));
}

function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function newRecoveryCode(): string {
  let raw = '';
  for (let i = 0; i < 10; i += 1) raw += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

/**
 * Replaces the user's recovery codes with fresh ones and returns them in plain text
 * (shown once; only their SHA-256 is stored). Call inside the enabling transaction.
 */
export async function replaceRecoveryCodes(
  tx: DbOrTx,
  tenantId: string,
  userId: string,
): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const now = new Date();
  await tx
    .delete(recoveryCodes)
    .where(and(eq(recoveryCodes.tenantId, tenantId), eq(recoveryCodes.userId, userId)));
  await tx.insert(recoveryCodes).values(
    codes.map((code) => ({
      id: newId(),
      tenantId,
      userId,
      codeHash: sha256Hex(normaliseRecoveryCode(code)),
      createdAt: now,
    })),
  );
  return codes;
}

/** Uses up one unused recovery code; false when there is none matching. */
export async function consumeRecoveryCode(
  db: DbOrTx,
  tenantId: string,
  userId: string,
  code: string,
): Promise<boolean> {
  const normalised = normaliseRecoveryCode(code);
  if (normalised.length !== 10) return false;
  const [result] = await db
    .update(recoveryCodes)
    .set({ usedAt: new Date() })
    .where(
      and(
        eq(recoveryCodes.tenantId, tenantId),
        eq(recoveryCodes.userId, userId),
        eq(recoveryCodes.codeHash, sha256Hex(normalised)),
        isNull(recoveryCodes.usedAt),
      ),
    );
  return result.affectedRows === 1;
}

export async function deleteRecoveryCodes(
  tx: DbOrTx,
  tenantId: string,
  userId: string,
): Promise<void> {
  await tx
    .delete(recoveryCodes)
    .where(and(eq(recoveryCodes.tenantId, tenantId), eq(recoveryCodes.userId, userId)));
}
