import { and, eq } from 'drizzle-orm';
import { MAX_ACTIVE_DEVICES, MFA_REQUIRED_ROLES } from '@trupp/shared';
import type { Config } from '../../config.ts';
import type { Db, Tx } from '../../db/client.ts';
import { devices, users } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { DomainBus } from '../../lib/bus.ts';
import { newId } from '../../lib/ids.ts';
import { randomToken, sha256Hex, signStatement } from '../../lib/tokens.ts';
import { recordAudit } from '../audit/service.ts';
import { listActiveDevices, revokeDevice, toDeviceInfo } from '../devices/service.ts';
import { loadMe } from '../me/service.ts';
import type { Session } from './schemas.ts';

/** What sign-in needs from the app: `app` itself satisfies it. */
export interface AuthDeps {
  db: Db;
  bus: DomainBus;
  config: Config;
}

/** Where a request comes from, as recorded on the device and in the audit log. */
export interface ClientInfo {
  ip: string;
  userAgent: string;
  /** The name the user gave this device; derived from the User-Agent when absent. */
  deviceName?: string | undefined;
}

export type SignInMethod = 'password' | 'totp' | 'recovery' | 'passkey';

/** Purpose of the token that lets a user sign out a device when the limit is reached. */
export const DEVICE_LIMIT_PURPOSE = 'device_limit';
/** How long the MFA-step and device-limit tokens are valid. */
export const STEP_TOKEN_TTL_SECONDS = 300;

const USER_AGENT_MAX = 512;
const DEVICE_NAME_MAX = 120;

interface IssueOptions {
  method: SignInMethod;
  /**
   * Uses up the second factor (TOTP step, recovery code, passkey counter) inside the
   * sign-in transaction, after the user row is locked. If the sign-in is then refused
   * (device limit), the factor is not spent and can be used for the retry. Throws to refuse.
   */
  consume?: (tx: Tx) => Promise<void>;
}

/**
 * Creates a device with a fresh access and refresh token for a user who has passed every
 * sign-in step. The user row is locked FOR UPDATE first, so concurrent sign-ins of one
 * user are serialised and can never create more than MAX_ACTIVE_DEVICES devices.
 * Admins and dispatchers without TOTP get a session that may only enrol it.
 * @throws AppError DEVICE_LIMIT_REACHED (details: { devices, limitToken }),
 *   AUTH_INVALID_CREDENTIALS when the user was deactivated meanwhile, or what `consume` throws
 */
export async function issueSession(
  deps: AuthDeps,
  tenantId: string,
  userId: string,
  client: ClientInfo,
  options: IssueOptions,
): Promise<Session> {
  const { config } = deps;
  const issued = await deps.db.transaction(async (tx) => {
    const [user] = await tx
      .select({ role: users.role, active: users.active, totpEnabledAt: users.totpEnabledAt })
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)))
      .for('update');
    if (!user || !user.active) throw appError('AUTH_INVALID_CREDENTIALS');
    await options.consume?.(tx);

    const active = await listActiveDevices(tx, tenantId, userId, { lock: true });
    if (active.length >= MAX_ACTIVE_DEVICES) {
      throw appError('DEVICE_LIMIT_REACHED', undefined, {
        devices: active.map((device) => toDeviceInfo(device, null)),
        limitToken: signStatement(
          config.tokenSecret,
          DEVICE_LIMIT_PURPOSE,
          { uid: userId, tid: tenantId },
          STEP_TOKEN_TTL_SECONDS,
        ),
      });
    }

    const now = new Date();
    const tokens = newTokens(config, now);
    const deviceId = newId();
    const name = (client.deviceName?.trim() || deviceNameFromUserAgent(client.userAgent)).slice(
      0,
      DEVICE_NAME_MAX,
    );
    const mfaEnrolmentPending = MFA_REQUIRED_ROLES.includes(user.role) && !user.totpEnabledAt;
    await tx.insert(devices).values({
      id: deviceId,
      tenantId,
      userId,
      name,
      userAgent: client.userAgent.slice(0, USER_AGENT_MAX),
      accessHash: sha256Hex(tokens.accessToken),
      accessExpiresAt: tokens.accessExpiresAt,
      refreshHash: sha256Hex(tokens.refreshToken),
      refreshExpiresAt: tokens.refreshExpiresAt,
      mfaEnrolmentPending,
      lastSeenAt: now,
      lastIp: client.ip.slice(0, 64),
      createdAt: now,
    });
    await tx
      .update(users)
      .set({ lastLoginAt: now })
      .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)));
    await recordAudit(tx, tenantId, {
      action: 'auth.login_succeeded',
      actor: { userId, deviceId, ip: client.ip },
      target: { type: 'user', id: userId },
      details: { method: options.method, deviceName: name },
    });
    return { deviceId, tokens, mfaEnrolmentPending };
  });
  return {
    accessToken: issued.tokens.accessToken,
    accessExpiresAt: issued.tokens.accessExpiresAt.toISOString(),
    refreshToken: issued.tokens.refreshToken,
    refreshExpiresAt: issued.tokens.refreshExpiresAt.toISOString(),
    deviceId: issued.deviceId,
    mfaEnrolmentRequired: issued.mfaEnrolmentPending,
    user: await loadMe(deps.db, tenantId, userId),
  };
}

function newTokens(config: Config, now: Date) {
  return {
    accessToken: randomToken(),
    accessExpiresAt: new Date(now.getTime() + config.accessTokenTtlSeconds * 1000),
    refreshToken: randomToken(),
    refreshExpiresAt: new Date(now.getTime() + config.refreshTokenTtlSeconds * 1000),
  };
}

/**
 * Trades a refresh token for a new access and refresh token on the same device. The
 * presented token dies; it is remembered as `prevRefreshHash`, and presenting it again
 * means two parties hold the device's tokens (theft): the device is revoked with wipe.
 * @throws AppError AUTH_REFRESH_INVALID, DEVICE_REVOKED (details: { wipe })
 */
export async function refreshSession(
  deps: AuthDeps,
  refreshToken: string,
  client: ClientInfo,
): Promise<Session> {
  const hash = sha256Hex(refreshToken);
  const outcome = await deps.db.transaction(async (tx) => {
    const [device] = await tx
      .select()
      .from(devices)
      .where(eq(devices.refreshHash, hash))
      .limit(1)
      .for('update');
    if (!device) {
      const [reused] = await tx
        .select({ id: devices.id, tenantId: devices.tenantId, userId: devices.userId })
        .from(devices)
        .where(eq(devices.prevRefreshHash, hash))
        .limit(1);
      return reused ? { kind: 'reused' as const, device: reused } : null;
    }
    if (device.revokedAt)
      throw appError('DEVICE_REVOKED', undefined, { wipe: device.wipeRequested });
    if (!device.refreshExpiresAt || device.refreshExpiresAt.getTime() <= Date.now()) {
      throw appError('AUTH_REFRESH_INVALID');
    }
    const [user] = await tx
      .select({ active: users.active })
      .from(users)
      .where(and(eq(users.tenantId, device.tenantId), eq(users.id, device.userId)));
    if (!user?.active) throw appError('AUTH_REFRESH_INVALID');
    const now = new Date();
    const tokens = newTokens(deps.config, now);
    await tx
      .update(devices)
      .set({
        accessHash: sha256Hex(tokens.accessToken),
        accessExpiresAt: tokens.accessExpiresAt,
        refreshHash: sha256Hex(tokens.refreshToken),
        refreshExpiresAt: tokens.refreshExpiresAt,
        prevRefreshHash: hash,
        lastSeenAt: now,
        lastIp: client.ip.slice(0, 64),
      })
      .where(and(eq(devices.tenantId, device.tenantId), eq(devices.id, device.id)));
    return { kind: 'rotated' as const, device, tokens };
  });

  if (!outcome) throw appError('AUTH_REFRESH_INVALID');
  if (outcome.kind === 'reused') {
    const reused = outcome.device;
    await recordAudit(deps.db, reused.tenantId, {
      action: 'auth.refresh_reuse_detected',
      actor: { ip: client.ip },
      target: { type: 'device', id: reused.id },
      details: { userId: reused.userId },
    });
    await revokeDevice(deps, reused.tenantId, reused.id, {
      reason: 'refresh_reuse',
      wipe: true,
      actor: { ip: client.ip },
    });
    throw appError('AUTH_REFRESH_INVALID');
  }
  const { device, tokens } = outcome;
  return {
    accessToken: tokens.accessToken,
    accessExpiresAt: tokens.accessExpiresAt.toISOString(),
    refreshToken: tokens.refreshToken,
    refreshExpiresAt: tokens.refreshExpiresAt.toISOString(),
    deviceId: device.id,
    mfaEnrolmentRequired: device.mfaEnrolmentPending,
    user: await loadMe(deps.db, device.tenantId, device.userId),
  };
}

const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bChrome\/|\bCriOS\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

const SYSTEMS: Array<[RegExp, string]> = [
  [/\bAndroid\b/, 'Android'],
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** A readable device name such as "Chrome on Linux" from a User-Agent header. */
export function deviceNameFromUserAgent(userAgent: string): string {
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? 'Unknown device';
}
