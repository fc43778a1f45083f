/** The signed-in user's own account (`/api/me/*`). */
import { request, requestFile } from './http.ts';
import type { DeviceInfo, Me, Passkey, PasskeyOptions, TotpEnrolment } from './types.ts';

export const getMe = (): Promise<Me> => request('GET', '/api/me');

export const updateMe = (patch: {
  displayName?: string;
  locale?: 'de' | 'en' | null;
}): Promise<Me> => request('PATCH', '/api/me', { body: patch });

export const changePassword = (currentPassword: string, newPassword: string): Promise<void> =>
  request('POST', '/api/me/password', { body: { currentPassword, newPassword } });

export const enrolTotp = (): Promise<TotpEnrolment> => request('POST', '/api/me/totp/enrol');

export const confirmTotp = (code: string): Promise<{ recoveryCodes: string[] }> =>
  request('POST', '/api/me/totp/confirm', { body: { code } });

export const disableTotp = (code: string): Promise<void> =>
  request('DELETE', '/api/me/totp', { body: { code } });

export const regenerateRecoveryCodes = (code: string): Promise<{ recoveryCodes: string[] }> =>
  request('POST', '/api/me/recovery-codes', { body: { code } });

export const passkeyRegistrationOptions = (): Promise<PasskeyOptions> =>
  request('POST', '/api/me/passkeys/options');

export const addPasskey = (
  challengeId: string,
  response: unknown,
  name: string,
): Promise<Passkey> =>
  request('POST', '/api/me/passkeys', { body: { challengeId, response, name } });

export const listPasskeys = (): Promise<Passkey[]> => request('GET', '/api/me/passkeys');

export const removePasskey = (passkeyId: string): Promise<void> =>
  request('DELETE', `/api/me/passkeys/${encodeURIComponent(passkeyId)}`);

export const listMyDevices = (): Promise<DeviceInfo[]> => request('GET', '/api/me/devices');

export const revokeMyDevice = (deviceId: string): Promise<void> =>
  request('DELETE', `/api/me/devices/${encodeURIComponent(deviceId)}`);

export const exportMyData = (): Promise<{ blob: Blob; filename: string }> =>
  requestFile('/api/me/export', 'trupp-export.json');
