import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import * as authApi from '../api/auth.ts';
import {
  ApiError,
  readStoredSession,
  SESSION_STORAGE_KEY,
  writeStoredSession,
} from '../api/http.ts';
import type { DeviceInfo, Session } from '../api/types.ts';
import { useSessionStore } from './session.ts';

vi.mock('../api/auth.ts');
vi.mock('../api/me.ts');
vi.mock('../realtime/socket.ts', () => ({
  connectRealtime: vi.fn(() => ({ close: vi.fn() })),
}));

const api = vi.mocked(authApi);

function makeSession(overrides: Partial<Session> = {}): Session {
  return {
    accessToken: 'access-1',
    accessExpiresAt: '2030-01-01T00:00:00.000Z',
    refreshToken: 'refresh-1',
    refreshExpiresAt: '2030-01-01T00:00:00.000Z',
    deviceId: 'device-new',
    mfaEnrolmentRequired: false,
    user: {
      id: 'u1',
      tenantId: 't1',
      tenantName: 'Musterstadt',
      email: 'anna@example.org',
      displayName: 'Anna',
      role: 'admin',
      isSuperadmin: false,
      locale: null,
      totpEnabled: true,
      passkeyCount: 0,
      units: [],
      qualifications: [],
      permissions: ['users.manage'],
    },
    ...overrides,
  };
}

const device = (id: string): DeviceInfo => ({
  id,
  name: `Phone ${id}`,
  userAgent: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  lastSeenAt: '2025-01-02T00:00:00.000Z',
  lastIp: null,
  current: false,
});

const deviceLimitError = () =>
  new ApiError('DEVICE_LIMIT_REACHED', 'limit', 409, {
    devices: [device('d1'), device('d2'), device('d3')],
    limitToken: 'limit-token',
  });

beforeEach(() => {
  setActivePinia(createPinia());
  localStorage.clear();
  sessionStorage.clear();
  vi.resetAllMocks();
});

describe('session store sign-in', () => {
  it('signs in directly when no second factor is needed and stores the tokens', async () => {
    api.login.mockResolvedValue({ status: 'ok', session: makeSession() });
    const store = useSessionStore();

    await store.login(' anna@example.org ', 'secret-password');

    expect(api.login).toHaveBeenCalledWith(
      'anna@example.org',
      'secret-password',
      expect.any(String),
    );
    expect(store.signedIn).toBe(true);
    expect(store.can('users.manage')).toBe(true);
    expect(readStoredSession()?.accessToken).toBe('access-1');
  });

  it('goes password → TOTP → device limit → revoke one → signed in with the same code', async () => {
    api.login.mockResolvedValue({
      status: 'mfa_required',
      mfaToken: 'mfa-token',
      methods: ['totp', 'recovery'],
    });
    api.loginMfa
      .mockRejectedValueOnce(deviceLimitError())
      .mockResolvedValueOnce({ status: 'ok', session: makeSession() });
    api.revokeForDeviceLimit.mockResolvedValue(undefined);
    const store = useSessionStore();

    await store.login('anna@example.org', 'secret-password');
    expect(store.step).toBe('mfa');
    expect(store.mfa?.methods).toEqual(['totp', 'recovery']);

    await store.submitMfa('totp', '123 456');
    expect(store.step).toBe('device_limit');
    expect(store.deviceLimit?.devices.map((d) => d.id)).toEqual(['d1', 'd2', 'd3']);
    expect(store.signedIn).toBe(false);

    await store.revokeForDeviceLimit('d2');

    expect(api.revokeForDeviceLimit).toHaveBeenCalledWith('limit-token', 'd2');
    // The refused attempt is repeated as it was: same token, same code.
    expect(api.loginMfa).toHaveBeenCalledTimes(2);
    expect(api.loginMfa.mock.calls[1]?.slice(0, 3)).toEqual(['mfa-token', 'totp', '123456']);
    expect(store.signedIn).toBe(true);
    expect(store.step).toBe('credentials');
  });

  it('stays on the code step with the error when the code is wrong', async () => {
    api.login.mockResolvedValue({ status: 'mfa_required', mfaToken: 'm', methods: ['totp'] });
    api.loginMfa.mockRejectedValue(new ApiError('AUTH_MFA_INVALID', 'wrong', 401));
    const store = useSessionStore();
    await store.login('anna@example.org', 'pw');
    await store.submitMfa('totp', '000000');
    expect(store.step).toBe('mfa');
    expect((store.error as ApiError).code).toBe('AUTH_MFA_INVALID');
    expect(store.signedIn).toBe(false);
  });

  it('starts again from the password when the sign-in step expired', async () => {
    api.login.mockResolvedValue({ status: 'mfa_required', mfaToken: 'm', methods: ['totp'] });
    api.loginMfa.mockRejectedValue(new ApiError('AUTH_MFA_TOKEN_INVALID', 'expired', 401));
    const store = useSessionStore();
    await store.login('anna@example.org', 'pw');
    await store.submitMfa('totp', '123456');
    expect(store.step).toBe('credentials');
    expect((store.error as ApiError).code).toBe('AUTH_MFA_TOKEN_INVALID');
  });

  it('keeps the lockout error with its wait time', async () => {
    api.login.mockRejectedValue(
      new ApiError('AUTH_LOCKED', 'locked', 429, { retryAfterSeconds: 300 }),
    );
    const store = useSessionStore();
    await store.login('anna@example.org', 'pw');
    expect(store.error).toMatchObject({ code: 'AUTH_LOCKED', details: { retryAfterSeconds: 300 } });
  });
});

describe('session store when the session is lost', () => {
  it('wipes local data, confirms with the old token and shows the notice on DEVICE_REVOKED with wipe', async () => {
    writeStoredSession(makeSession({ accessToken: 'old-access' }));
    localStorage.setItem('trupp.cache', 'something');
    sessionStorage.setItem('draft', 'x');
    api.confirmWipe.mockResolvedValue(undefined);
    const store = useSessionStore();
    store.init();
    expect(store.signedIn).toBe(true);

    store.handleAuthLost(new ApiError('DEVICE_REVOKED', 'revoked', 401, { wipe: true }));
    await vi.waitFor(() => expect(store.wiped).toBe(true));

    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(store.signedIn).toBe(false);
    await vi.waitFor(() => expect(api.confirmWipe).toHaveBeenCalledWith('old-access'));
  });

  it('only signs out (no wipe) when the session merely ended', async () => {
    writeStoredSession(makeSession());
    localStorage.setItem('trupp.locale', 'de');
    const store = useSessionStore();
    store.init();

    store.handleAuthLost(new ApiError('AUTH_REFRESH_INVALID', 'ended', 401));

    expect(store.signedIn).toBe(false);
    expect(store.wiped).toBe(false);
    expect(store.notice).toBe('session_ended');
    expect(localStorage.getItem(SESSION_STORAGE_KEY)).toBeNull();
    expect(localStorage.getItem('trupp.locale')).toBe('de');
    expect(api.confirmWipe).not.toHaveBeenCalled();
  });
});
