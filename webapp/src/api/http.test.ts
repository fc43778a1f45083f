import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, configureHttp, readStoredSession, request, writeStoredSession } from './http.ts';
import type { Session } from './types.ts';

function session(n: number): Session {
  return {
    accessToken: `access-${n}`,
    accessExpiresAt: '2030-01-01T00:00:00.000Z',
    refreshToken: `refresh-${n}`,
    refreshExpiresAt: '2030-01-01T00:00:00.000Z',
    deviceId: 'device-1',
    mfaEnrolmentRequired: false,
    user: {
      id: 'u1',
      tenantId: 't1',
      tenantName: 'Musterstadt',
      email: 'a@example.org',
      displayName: 'A',
      role: 'member',
      isSuperadmin: false,
      locale: null,
      totpEnabled: false,
      passkeyCount: 0,
      units: [],
      qualifications: [],
      permissions: ['directory.read'],
    },
  };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const expired = () =>
  json(401, { code: 'AUTH_TOKEN_EXPIRED', message: 'expired', statusCode: 401 });

/** A fake server: `/api/auth/refresh` rotates to session 2; other paths accept only access-2. */
function fakeServer() {
  const calls: { path: string; auth: string | null; body: unknown }[] = [];
  const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ path: url, auth: headers.authorization ?? null, body });
    if (url === '/api/auth/refresh') {
      // Slow enough that concurrent callers overlap with it.
      await new Promise((resolve) => setTimeout(resolve, 20));
      return json(200, session(2));
    }
    if (headers.authorization !== 'Bearer access-2') return expired();
    return json(200, { ok: url });
  });
  vi.stubGlobal('fetch', fetchMock);
  return calls;
}

beforeEach(() => {
  localStorage.clear();
  configureHttp({});
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('http', () => {
  it('refreshes an expired access token once and repeats the call with the new one', async () => {
    writeStoredSession(session(1));
    const calls = fakeServer();

    await expect(request('GET', '/api/me')).resolves.toEqual({ ok: '/api/me' });

    expect(calls.map((call) => call.path)).toEqual(['/api/me', '/api/auth/refresh', '/api/me']);
    expect(calls[1]?.body).toEqual({ refreshToken: 'refresh-1' });
    expect(calls[2]?.auth).toBe('Bearer access-2');
    expect(readStoredSession()?.refreshToken).toBe('refresh-2');
  });

  it('sends a single refresh for several calls refused at the same time', async () => {
    writeStoredSession(session(1));
    const calls = fakeServer();

    const results = await Promise.all([
      request('GET', '/api/me'),
      request('GET', '/api/me/devices'),
      request('GET', '/api/units'),
    ]);

    expect(results).toHaveLength(3);
    expect(calls.filter((call) => call.path === '/api/auth/refresh')).toHaveLength(1);
  });

  it('does not refresh again when the tokens were already rotated by someone else', async () => {
    writeStoredSession(session(1));
    const calls = fakeServer();
    await request('GET', '/api/me');
    // A call that still carried the old token comes back late: no second refresh.
    writeStoredSession(session(2));
    calls.length = 0;
    await request('GET', '/api/units');
    expect(calls.filter((call) => call.path === '/api/auth/refresh')).toHaveLength(0);
  });

  it('reports a revoked device with its wipe flag and throws the typed error', async () => {
    writeStoredSession(session(1));
    const lost = vi.fn();
    configureHttp({ onAuthLost: lost });
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        json(401, {
          code: 'DEVICE_REVOKED',
          message: 'revoked',
          statusCode: 401,
          details: { wipe: true },
        }),
      ),
    );

    const error = await request('GET', '/api/me').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('DEVICE_REVOKED');
    expect(lost).toHaveBeenCalledWith(expect.objectContaining({ details: { wipe: true } }));
  });

  it('turns an unreachable server into NETWORK_ERROR', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw new TypeError('Failed to fetch');
      }),
    );
    await expect(request('GET', '/api/health')).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
  });
});
