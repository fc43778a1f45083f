import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, base64url: access/refresh tokens, one-time links. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Tokens are stored only as this hash, so a database leak does not leak sessions. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * A short-lived, HMAC-signed statement such as "passed the password step for user X".
 * Format: base64url(json).base64url(hmac). `purpose` is part of the signed payload so a
 * token minted for one step cannot be used for another.
 */
export function signStatement(
  secret: string,
  purpose: string,
  data: Record<string, unknown>,
  ttlSeconds: number,
): string {
  const payload = Buffer.from(
    JSON.stringify({ ...data, p: purpose, exp: Date.now() + ttlSeconds * 1000 }),
  ).toString('base64url');
  const mac = createHmac('sha256', secret).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

/** Returns the signed data, or null when the token is malformed, forged, expired or for another purpose. */
export function verifyStatement<T extends Record<string, unknown>>(
  secret: string,
  purpose: string,
  token: string,
): T | null {
  const [payload, mac, extra] = token.split('.');
  if (!payload || !mac || extra !== undefined) return null;
  const expected = createHmac('sha256', secret).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T & {
      p: string;
      exp: number;
    };
    if (data.p !== purpose || typeof data.exp !== 'number' || data.exp < Date.now()) return null;
    return data;
  } catch {
    return null;
  }
}
