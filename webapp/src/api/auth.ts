/** Sign-in, sessions and device-limit calls (`/api/auth/*`). */
import { request } from './http.ts';
import type { LoginResult, PasskeyOptions, Session } from './types.ts';

export function login(email: string, password: string, deviceName: string): Promise<LoginResult> {
  return request('POST', '/api/auth/login', { auth: false, body: { email, password, deviceName } });
}

export function loginMfa(
  mfaToken: string,
  method: 'totp' | 'recovery',
  code: string,
  deviceName: string,
): Promise<{ status: 'ok'; session: Session }> {
  return request('POST', '/api/auth/login/mfa', {
    auth: false,
    body: { mfaToken, method, code, deviceName },
  });
}

export function passkeyOptions(mfaToken?: string): Promise<PasskeyOptions> {
  return request('POST', '/api/auth/passkey/options', {
    auth: false,
    body: mfaToken ? { mfaToken } : {},
  });
}

export function passkeyVerify(
  challengeId: string,
  response: unknown,
  deviceName: string,
  mfaToken?: string,
): Promise<{ status: 'ok'; session: Session }> {
  return request('POST', '/api/auth/passkey/verify', {
    auth: false,
    body: { challengeId, response, deviceName, ...(mfaToken ? { mfaToken } : {}) },
  });
}

export function revokeForDeviceLimit(limitToken: string, deviceId: string): Promise<void> {
  return request('POST', '/api/auth/device-limit/revoke', {
    auth: false,
    body: { limitToken, deviceId },
  });
}

export function logout(): Promise<void> {
  return request('POST', '/api/auth/logout');
}

/** Tells the server this revoked device erased its data; `token` is its old access token. */
export function confirmWipe(token: string): Promise<void> {
  return request('POST', '/api/auth/wipe-confirmed', { token });
}
