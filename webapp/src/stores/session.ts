/**
 * The signed-in session: the multi-step sign-in (password → second factor → device
 * limit), the stored tokens, the realtime connection, sign-out, and the reaction to a
 * lost session — including the remote wipe of this device.
 */
import { defineStore } from 'pinia';
import { computed, readonly, ref, shallowRef, watch } from 'vue';
import { syncWorkerToken } from '../push/web-push.ts';
import type { Permission } from '@trupp/shared';
import * as authApi from '../api/auth.ts';
import * as meApi from '../api/me.ts';
import {
  type ApiError,
  configureHttp,
  isApiError,
  readStoredSession,
  refreshSession,
  SESSION_STORAGE_KEY,
  writeStoredSession,
} from '../api/http.ts';
import type {
  DeviceInfo,
  DeviceLimitDetails,
  LoginResult,
  MfaMethod,
  Session,
} from '../api/types.ts';
import { getPasskeyAssertion } from '../api/webauthn.ts';
import { eraseLocalData } from '../composables/useWipe.ts';
import { describeDevice } from '../composables/device-name.ts';
import { connectRealtime, type RealtimeConnection } from '../realtime/socket.ts';
import { useChatLockStore } from './chat-lock.ts';

export type LoginStep = 'credentials' | 'mfa' | 'device_limit';
/** Why the sign-in page is shown, for a message there. */
export type SignInNotice = 'signed_out' | 'session_ended' | 'link_done' | null;

const TAB_CHANNEL = 'trupp.session';
/** How often to check the session over HTTP while the realtime socket is not connected. */
const FALLBACK_CHECK_MS = 30_000;
type TabMessage = { type: 'wiped' } | { type: 'signed_out' };

export const useSessionStore = defineStore('session', () => {
  const session = ref<Session | null>(null);
  // The service worker fetches alarm content for a push with this device's token.
  watch(
    () => session.value?.accessToken ?? null,
    (token) => void syncWorkerToken(token).catch(() => undefined),
  );
  const step = ref<LoginStep>('credentials');
  const mfa = ref<{ token: string; methods: MfaMethod[] } | null>(null);
  const deviceLimit = ref<{ devices: DeviceInfo[]; limitToken: string } | null>(null);
  const busy = ref(false);
  const error = shallowRef<unknown>(null);
  const wiped = ref(false);
  const notice = ref<SignInNotice>(null);
  /** Bumped with the source name whenever the server says something changed. */
  const lastSync = ref<{ source: string; at: number } | null>(null);

  const me = computed(() => session.value?.user ?? null);
  const signedIn = computed(() => session.value !== null);
  const enrolmentRequired = computed(() => session.value?.mfaEnrolmentRequired === true);

  let realtime: RealtimeConnection | null = null;
  let realtimeUp = false;
  let fallbackTimer: ReturnType<typeof setInterval> | null = null;
  let channel: BroadcastChannel | null = null;
  let wiping: Promise<void> | null = null;
  /** The last sign-in call, repeated once a device slot was freed (its second factor is not spent). */
  let lastAttempt: (() => Promise<LoginResult>) | null = null;

  function can(permission: Permission): boolean {
    return me.value?.permissions.includes(permission) ?? false;
  }

  function startRealtime(): void {
    if (realtime) return;
    realtime = connectRealtime({
      getToken: () => readStoredSession()?.accessToken ?? null,
      refresh: async (usedToken) => (await refreshSession(usedToken)).accessToken,
      onRevoked: (wipe) => (wipe ? void wipeDevice() : endSession('session_ended')),
      onAuthLost: () => endSession('session_ended'),
      onSyncAvailable: (source) => {
        lastSync.value = { source, at: Date.now() };
      },
      onConnectionChange: (connected) => {
        realtimeUp = connected;
      },
    });
    // While the socket is down a revocation would go unnoticed until the next call; ask.
    fallbackTimer ??= setInterval(() => {
      if (!realtimeUp && session.value) refreshMe().catch(() => undefined);
    }, FALLBACK_CHECK_MS);
  }

  function stopRealtime(): void {
    realtime?.close();
    realtime = null;
    realtimeUp = false;
    if (fallbackTimer) clearInterval(fallbackTimer);
    fallbackTimer = null;
  }

  function broadcast(message: TabMessage): void {
    try {
      channel?.postMessage(message);
    } catch {
      // A closed channel: the other tabs will notice through the server.
    }
  }

  function resetLogin(): void {
    step.value = 'credentials';
    mfa.value = null;
    deviceLimit.value = null;
    lastAttempt = null;
  }

  function adoptSession(next: Session): void {
    writeStoredSession(next);
    session.value = next;
    wiped.value = false;
    notice.value = null;
    resetLogin();
    startRealtime();
  }

  /**
   * Drops the session in memory and storage (no wipe) and shows the sign-in page. The
   * chat's keys and messages go too: they belong to this device's sign-in, which has
   * ended (the next sign-in is a new device), and the next person at this browser must
   * not find them behind the previous user's PIN.
   */
  function endSession(reason: SignInNotice): void {
    void useChatLockStore().erase();
    stopRealtime();
    writeStoredSession(null);
    session.value = null;
    resetLogin();
    notice.value = reason;
  }

  async function attempt(call: () => Promise<LoginResult>): Promise<void> {
    lastAttempt = call;
    busy.value = true;
    error.value = null;
    try {
      const result = await call();
      if (result.status === 'ok') {
        adoptSession(result.session);
      } else {
        mfa.value = { token: result.mfaToken, methods: result.methods };
        step.value = 'mfa';
      }
    } catch (caught) {
      if (isApiError(caught, 'DEVICE_LIMIT_REACHED')) {
        const details = caught.details as DeviceLimitDetails;
        deviceLimit.value = { devices: details.devices, limitToken: details.limitToken };
        step.value = 'device_limit';
      } else {
        if (isApiError(caught, 'AUTH_MFA_TOKEN_INVALID')) resetLogin();
        error.value = caught;
      }
    } finally {
      busy.value = false;
    }
  }

  /** Step 1: email and password. Leads to the app, the second factor, or the device limit. */
  function login(email: string, password: string): Promise<void> {
    resetLogin();
    notice.value = null;
    return attempt(() => authApi.login(email.trim(), password, describeDevice()));
  }

  /** Step 2: a TOTP or recovery code for the pending sign-in. */
  function submitMfa(method: 'totp' | 'recovery', code: string): Promise<void> {
    const token = mfa.value?.token;
    if (!token) return Promise.resolve();
    const cleaned = method === 'totp' ? code.replace(/\s+/g, '') : code.trim();
    return attempt(() => authApi.loginMfa(token, method, cleaned, describeDevice()));
  }

  /** A passkey, either as second factor of the pending sign-in or passwordless. */
  function signInWithPasskey(): Promise<void> {
    const token = mfa.value?.token;
    return attempt(async () => {
      const { challengeId, options } = await authApi.passkeyOptions(token);
      const assertion = await getPasskeyAssertion(options);
      return authApi.passkeyVerify(challengeId, assertion, describeDevice(), token);
    });
  }

  /** Signs out one of the devices listed at the limit, then repeats the refused sign-in. */
  async function revokeForDeviceLimit(deviceId: string): Promise<void> {
    const limit = deviceLimit.value;
    const retry = lastAttempt;
    if (!limit || !retry) return;
    busy.value = true;
    error.value = null;
    try {
      await authApi.revokeForDeviceLimit(limit.limitToken, deviceId);
    } catch (caught) {
      busy.value = false;
      if (isApiError(caught, 'AUTH_MFA_TOKEN_INVALID')) resetLogin();
      error.value = caught;
      return;
    }
    await attempt(retry);
  }

  function cancelLogin(): void {
    resetLogin();
    error.value = null;
  }

  async function logout(): Promise<void> {
    try {
      await authApi.logout();
    } catch {
      // Signed out locally either way; the server expires the device on its own.
    }
    endSession('signed_out');
    broadcast({ type: 'signed_out' });
  }

  /**
   * Remote wipe of this device: close the socket, erase every local store, show the
   * notice, then tell the server (with the old token, kept in memory only) that the data
   * is gone. Erasing comes first so the confirmation is true when it is sent.
   */
  function wipeDevice(options: { fromOtherTab?: boolean } = {}): Promise<void> {
    wiping ??= (async () => {
      const oldToken = session.value?.accessToken ?? readStoredSession()?.accessToken ?? null;
      stopRealtime();
      session.value = null;
      resetLogin();
      await eraseLocalData();
      wiped.value = true;
      if (!options.fromOtherTab) {
        broadcast({ type: 'wiped' });
        if (oldToken) await authApi.confirmWipe(oldToken).catch(() => undefined);
      }
    })().finally(() => {
      wiping = null;
    });
    return wiping;
  }

  function handleAuthLost(lost: ApiError): void {
    const details = lost.details as { wipe?: boolean } | undefined;
    if (lost.code === 'DEVICE_REVOKED' && details?.wipe) void wipeDevice();
    else if (session.value) endSession('session_ended');
  }

  /** Reloads the own account (units, permissions, 2FA state) into the session. */
  async function refreshMe(): Promise<void> {
    if (!session.value) return;
    const user = await meApi.getMe();
    if (!session.value) return;
    session.value = { ...session.value, user };
    writeStoredSession(session.value);
  }

  /** After TOTP was confirmed: the server lifted the requirement for all the user's devices. */
  function markEnrolled(): void {
    if (!session.value) return;
    session.value = {
      ...session.value,
      mfaEnrolmentRequired: false,
      user: { ...session.value.user, totpEnabled: true },
    };
    writeStoredSession(session.value);
    // The socket joined its rooms while enrolment was pending (no dispatch rooms then).
    if (realtime) {
      stopRealtime();
      startRealtime();
    }
  }

  function setNotice(next: SignInNotice): void {
    notice.value = next;
  }

  function dismissWipeNotice(): void {
    wiped.value = false;
  }

  /** Restores a stored session and wires the HTTP layer, tabs and the socket. Call once. */
  function init(): void {
    configureHttp({
      onSessionChanged: (next) => {
        if (next) session.value = next;
      },
      onAuthLost: handleAuthLost,
      onEnrolmentRequired: () => {
        if (session.value) session.value = { ...session.value, mfaEnrolmentRequired: true };
      },
    });
    if (typeof BroadcastChannel !== 'undefined') {
      channel = new BroadcastChannel(TAB_CHANNEL);
      channel.onmessage = (event: MessageEvent<TabMessage>) => {
        if (event.data?.type === 'wiped') void wipeDevice({ fromOtherTab: true });
        else if (event.data?.type === 'signed_out' && session.value) endSession('signed_out');
      };
    }
    window.addEventListener('storage', (event) => {
      if (event.key !== SESSION_STORAGE_KEY && event.key !== null) return;
      const stored = readStoredSession();
      if (stored) session.value = stored;
      else if (session.value) endSession('session_ended');
    });
    // A revocation missed while the socket was down shows up on the next call.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') refreshMe().catch(() => undefined);
    });
    const stored = readStoredSession();
    if (stored) {
      session.value = stored;
      startRealtime();
      refreshMe().catch(() => undefined);
    }
  }

  return {
    session: readonly(session),
    me,
    signedIn,
    enrolmentRequired,
    step: readonly(step),
    mfa: readonly(mfa),
    deviceLimit: readonly(deviceLimit),
    busy: readonly(busy),
    error: readonly(error),
    wiped: readonly(wiped),
    notice: readonly(notice),
    lastSync: readonly(lastSync),
    can,
    init,
    login,
    submitMfa,
    signInWithPasskey,
    revokeForDeviceLimit,
    cancelLogin,
    logout,
    wipeDevice,
    handleAuthLost,
    refreshMe,
    markEnrolled,
    setNotice,
    dismissWipeNotice,
  };
});
