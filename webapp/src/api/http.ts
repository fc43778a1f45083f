/**
 * The one fetch wrapper of the webapp: JSON in and out, the bearer token of the stored
 * session, typed errors, and a single transparent refresh when the access token expired.
 *
 * Refresh tokens rotate and presenting a used one revokes the device, so a refresh must
 * never run twice with the same token: within a tab concurrent callers share one
 * in-flight refresh, across tabs `navigator.locks` serialises them, and inside the lock
 * we re-read storage — if another tab already rotated the tokens we use its result.
 */
import type { ErrorCode } from '@trupp/shared';
import type { Session } from './types.ts';

export const SESSION_STORAGE_KEY = 'trupp.session';
const REFRESH_LOCK = 'trupp.refresh';

/** Codes that mean "this device has no valid session any more" on an authenticated call. */
const AUTH_LOST_CODES: ReadonlySet<string> = new Set([
  'DEVICE_REVOKED',
  'AUTH_TOKEN_INVALID',
  'AUTH_REFRESH_INVALID',
  'AUTH_REQUIRED',
]);

export type ClientErrorCode = ErrorCode | 'NETWORK_ERROR';

/** A failed API call: the server's `{ code, message, statusCode, details }`, or NETWORK_ERROR. */
export class ApiError extends Error {
  readonly code: ClientErrorCode;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(code: ClientErrorCode, message: string, statusCode: number, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.statusCode = statusCode;
    this.details = details;
  }
}

export function isApiError(error: unknown, code?: ClientErrorCode): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}

interface HttpHooks {
  /** The stored session changed (refreshed here or elsewhere); null when it was dropped. */
  onSessionChanged?: (session: Session | null) => void;
  /** An authenticated call proved the session dead (revoked, invalid, refresh refused). */
  onAuthLost?: (error: ApiError) => void;
  /** The server requires this device to enrol TOTP before anything else. */
  onEnrolmentRequired?: () => void;
}

let hooks: HttpHooks = {};

/** Lets the session store follow token changes and react to a lost session. */
export function configureHttp(next: HttpHooks): void {
  hooks = next;
}

export function readStoredSession(): Session | null {
  try {
    const raw = localStorage.getItem(SESSION_STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function writeStoredSession(session: Session | null): void {
  if (session) localStorage.setItem(SESSION_STORAGE_KEY, JSON.stringify(session));
  else localStorage.removeItem(SESSION_STORAGE_KEY);
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  /** Send the stored access token (default true). */
  auth?: boolean;
  /** Send this token instead of the stored one (e.g. the old token for wipe-confirmed). */
  token?: string;
  /** A binary body (e.g. an encrypted chat attachment) sent as is, instead of JSON `body`. */
  raw?: { data: Blob; contentType: string };
}

function buildUrl(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(
  method: string,
  path: string,
  options: RequestOptions,
  token: string | null,
): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | Blob | undefined;
  if (options.raw) {
    headers['content-type'] = options.raw.contentType;
    body = options.raw.data;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  try {
    return await fetch(buildUrl(path, options.query), { method, headers, body });
  } catch (cause) {
    throw new ApiError('NETWORK_ERROR', String(cause), 0);
  }
}

async function toApiError(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as {
      code?: ClientErrorCode;
      message?: string;
      details?: unknown;
    };
    if (body && typeof body.code === 'string') {
      return new ApiError(body.code, body.message ?? '', response.status, body.details);
    }
  } catch {
    // Not JSON (a proxy error page, say): fall through to a generic code by status.
  }
  const code: ErrorCode = response.status === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_ERROR';
  return new ApiError(code, response.statusText, response.status);
}

async function withRefreshLock<T>(task: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (locks && typeof locks.request === 'function') {
    return locks.request(REFRESH_LOCK, task) as Promise<T>;
  }
  return task();
}

let inflightRefresh: Promise<Session> | null = null;

/**
 * Exchanges the stored refresh token for a new session, at most once at a time.
 * `usedAccessToken` is the token a caller was refused with: if storage already holds a
 * different one, another tab or call refreshed meanwhile and that session is returned.
 * @throws ApiError AUTH_REQUIRED without a stored session; the server's error otherwise
 *   (AUTH_REFRESH_INVALID, DEVICE_REVOKED — reported to onAuthLost as well).
 */
export function refreshSession(usedAccessToken: string | null = null): Promise<Session> {
  inflightRefresh ??= withRefreshLock(async () => {
    const stored = readStoredSession();
    if (!stored) throw new ApiError('AUTH_REQUIRED', 'No session', 401);
    if (usedAccessToken && stored.accessToken !== usedAccessToken) return stored;
    const response = await send(
      'POST',
      '/api/auth/refresh',
      { body: { refreshToken: stored.refreshToken } },
      null,
    );
    if (!response.ok) {
      const error = await toApiError(response);
      if (AUTH_LOST_CODES.has(error.code)) hooks.onAuthLost?.(error);
      throw error;
    }
    const session = (await response.json()) as Session;
    writeStoredSession(session);
    hooks.onSessionChanged?.(session);
    return session;
  }).finally(() => {
    inflightRefresh = null;
  });
  return inflightRefresh;
}

async function perform(method: string, path: string, options: RequestOptions): Promise<Response> {
  const useStored = options.auth !== false && options.token === undefined;
  let token = options.token ?? (useStored ? (readStoredSession()?.accessToken ?? null) : null);
  let response = await send(method, path, options, token);
  for (let attempt = 0; !response.ok; attempt++) {
    const error = await toApiError(response);
    if (useStored && token && error.code === 'AUTH_TOKEN_EXPIRED' && attempt === 0) {
      token = (await refreshSession(token)).accessToken;
      response = await send(method, path, options, token);
      continue;
    }
    if (useStored && token && AUTH_LOST_CODES.has(error.code)) hooks.onAuthLost?.(error);
    if (useStored && error.code === 'AUTH_MFA_ENROLMENT_REQUIRED') hooks.onEnrolmentRequired?.();
    throw error;
  }
  return response;
}

/**
 * Calls the API and returns the parsed JSON body (undefined for 204).
 * @throws ApiError with the server's code, or NETWORK_ERROR when the server is unreachable.
 */
export async function request<T>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const response = await perform(method, path, options);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Calls the API for a file download.
 * @throws ApiError as `request`.
 */
export async function requestFile(
  path: string,
  fallbackName: string,
): Promise<{ blob: Blob; filename: string }> {
  const response = await perform('GET', path, {});
  const disposition = response.headers.get('content-disposition') ?? '';
  const match = /filename="?([^";]+)"?/.exec(disposition);
  return { blob: await response.blob(), filename: match?.[1] ?? fallbackName };
}
