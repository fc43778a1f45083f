/**
 * The chat's app lock for the UI: whether a PIN is set, whether the chat is unlocked,
 * whether a passkey unlocks it too, the last failure and how long to wait. The chat engine gets its encrypted store from
 * `chatStore()` and must drop what it holds in memory when `status` leaves `unlocked`.
 */
import { defineStore } from 'pinia';
import { readonly, ref } from 'vue';
import {
  AppLock,
  ChatLockError,
  type AppLockOptions,
  type ChatLockErrorCode,
} from '../chat/app-lock.ts';
import { IndexedDbKv, type ChatStore } from '../chat/secure-store.ts';

export type ChatLockStatus = 'unknown' | 'no-pin' | 'locked' | 'unlocked';
/** ChatLockError codes, plus CHAT_LOCK_FAILED for anything unexpected (storage unavailable). */
export type ChatLockStoreError = ChatLockErrorCode | 'CHAT_LOCK_FAILED';

/** Activity that keeps the chat unlocked. */
const ACTIVITY_EVENTS = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;

export const useChatLockStore = defineStore('chat-lock', () => {
  const status = ref<ChatLockStatus>('unknown');
  const error = ref<ChatLockStoreError | null>(null);
  /** Epoch ms before which no PIN is tried, after too many wrong ones. */
  const waitUntil = ref<number | null>(null);
  /** Wrong PINs left before waiting starts; null when nothing failed. */
  const attemptsLeft = ref<number | null>(null);
  /** Whether passkey unlock is set up on this device. */
  const passkey = ref(false);
  /** Whether this browser has WebAuthn (whether the authenticator has PRF shows when tried). */
  const passkeyAvailable = ref(false);
  let appLock: AppLock | null = null;
  let lastTouch = 0;

  function onActivity(): void {
    // Pointer moves come in bursts; once a second is plenty for a timer of minutes.
    const now = Date.now();
    if (now - lastTouch < 1000) return;
    lastTouch = now;
    appLock?.touch();
  }

  function onVisible(): void {
    if (document.visibilityState === 'visible') appLock?.checkIdle();
  }

  function watchActivity(on: boolean): void {
    if (typeof document === 'undefined') return;
    const method = on ? 'addEventListener' : 'removeEventListener';
    for (const event of ACTIVITY_EVENTS) document[method](event, onActivity, { passive: true });
    document[method]('visibilitychange', onVisible);
  }

  function instance(): AppLock {
    return appLock ?? attach(new AppLock({ kv: new IndexedDbKv() }));
  }

  function attach(lock: AppLock): AppLock {
    watchActivity(false);
    appLock = lock;
    lock.onLock(() => {
      if (appLock !== lock) return;
      watchActivity(false);
      if (status.value === 'unlocked') status.value = 'locked';
    });
    return lock;
  }

  function unlocked(): void {
    status.value = 'unlocked';
    error.value = null;
    waitUntil.value = null;
    attemptsLeft.value = null;
    watchActivity(true);
  }

  /** Runs a lock action; failures land in `error` (and `waitUntil`), never thrown. */
  async function attempt(action: (lock: AppLock) => Promise<void>): Promise<boolean> {
    error.value = null;
    try {
      await action(instance());
      return true;
    } catch (caught) {
      if (caught instanceof ChatLockError) {
        error.value = caught.code;
        waitUntil.value = caught.details.waitUntil ?? null;
        attemptsLeft.value = caught.details.attemptsLeft ?? null;
      } else {
        console.error('chat lock failed', caught);
        error.value = 'CHAT_LOCK_FAILED';
      }
      return false;
    }
  }

  /**
   * Reads whether a PIN is set and any running wait. Tests (and the lead's wiring) may
   * pass options, e.g. an in-memory backend and a small iteration count.
   */
  async function init(options?: AppLockOptions): Promise<void> {
    if (options) {
      appLock?.lock();
      attach(new AppLock(options));
    }
    await attempt(async (lock) => {
      passkeyAvailable.value = lock.passkeysAvailable;
      passkey.value = await lock.hasPasskey();
      if (lock.isUnlocked) return unlocked();
      status.value = (await lock.hasPin()) ? 'locked' : 'no-pin';
      waitUntil.value = await lock.waitUntil();
    });
  }

  async function setPin(pin: string): Promise<boolean> {
    const ok = await attempt((lock) => lock.setPin(pin));
    if (ok) unlocked();
    return ok;
  }

  async function unlock(pin: string): Promise<boolean> {
    const ok = await attempt((lock) => lock.unlock(pin));
    if (ok) unlocked();
    return ok;
  }

  async function changePin(oldPin: string, newPin: string): Promise<boolean> {
    const ok = await attempt((lock) => lock.changePin(oldPin, newPin));
    if (ok) unlocked();
    return ok;
  }

  async function unlockWithPasskey(): Promise<boolean> {
    const ok = await attempt((lock) => lock.unlockWithPasskey());
    if (ok) unlocked();
    return ok;
  }

  /** Adds passkey unlock; the PIN is asked again (see AppLock.enablePasskey). */
  async function enablePasskey(pin: string): Promise<boolean> {
    const ok = await attempt((lock) => lock.enablePasskey(pin));
    if (ok) passkey.value = true;
    return ok;
  }

  async function disablePasskey(): Promise<boolean> {
    const ok = await attempt((lock) => lock.disablePasskey());
    if (ok) passkey.value = false;
    return ok;
  }

  function lock(): void {
    appLock?.lock();
  }

  /** Deletes all chat data on this device and the PIN ("forgot PIN"). */
  async function erase(): Promise<boolean> {
    const ok = await attempt((current) => current.erase());
    if (ok) {
      status.value = 'no-pin';
      passkey.value = false;
      waitUntil.value = null;
      attemptsLeft.value = null;
    }
    return ok;
  }

  function clearError(): void {
    error.value = null;
  }

  function setAutoLockMinutes(minutes: number): void {
    instance().setAutoLockMinutes(minutes);
  }

  /**
   * The encrypted store for the chat engine; its calls throw ChatLockError CHAT_LOCKED
   * while the chat is locked.
   */
  function chatStore(): ChatStore {
    return instance().store;
  }

  return {
    status: readonly(status),
    error: readonly(error),
    waitUntil: readonly(waitUntil),
    attemptsLeft: readonly(attemptsLeft),
    passkey: readonly(passkey),
    passkeyAvailable: readonly(passkeyAvailable),
    init,
    setPin,
    unlock,
    changePin,
    unlockWithPasskey,
    enablePasskey,
    disablePasskey,
    lock,
    erase,
    clearError,
    setAutoLockMinutes,
    touch: onActivity,
    chatStore,
  };
});
