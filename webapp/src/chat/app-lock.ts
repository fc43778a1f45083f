/**
 * The chat's app lock: a PIN guards the key that encrypts everything the chat keeps on
 * this device (see secure-store.ts).
 *
 * - A random 256-bit AES-GCM data key encrypts every record. It never changes, so
 *   changing the PIN does not re-encrypt the data.
 * - The data key is stored wrapped (AES-GCM) under a key derived from the PIN with
 *   PBKDF2-SHA256 and a random salt; salt and iteration count are stored beside it. A
 *   wrong PIN fails the AES-GCM tag when unwrapping: there is no PIN hash to compare
 *   against.
 * - After 5 wrong PINs in a row each further attempt waits 30 s, 60 s, 120 s … (at most
 *   an hour); the count is stored, so reloading the page does not reset it.
 * - While unlocked the data key lives only in memory, as a non-extractable CryptoKey;
 *   `lock()` and the inactivity timer drop it.
 * - Optionally the same data key is wrapped a second time, under a key derived with
 *   HKDF-SHA256 from a passkey's PRF output (passkey-prf.ts), stored with the credential
 *   id and the PRF salt. Either copy opens the data; the PIN always keeps working, and
 *   removing the passkey unlock deletes only its copy.
 *
 * The PIN is short: the wait slows guessing in the app; the iteration count is what
 * slows guessing against a copy of the database.
 */
import {
  browserPrfCredentials,
  type CreatedPrfCredential,
  type PrfCredentials,
} from './passkey-prf.ts';
import { bytes, ChatLockError, RECORD_PREFIX, SecureStore, type RawKv } from './secure-store.ts';

export { ChatLockError, type ChatLockErrorCode } from './secure-store.ts';

/** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256; about half a second on a mid-range phone. */
export const PBKDF2_ITERATIONS = 600_000;
export const PIN_PATTERN = /^\d{6,12}$/;
/** Wrong PINs allowed before waiting starts. */
export const FREE_ATTEMPTS = 5;
export const FIRST_WAIT_MS = 30_000;
export const MAX_WAIT_MS = 60 * 60_000;
export const DEFAULT_AUTO_LOCK_MINUTES = 5;

const KEY_RECORD = 'lock:key';
const ATTEMPTS_RECORD = 'lock:attempts';
const PASSKEY_RECORD = 'lock:passkey';
const WRAP_AAD = new TextEncoder().encode('trupp-chat/data-key/v1');
const PASSKEY_AAD = 'trupp-chat/data-key/passkey/v1:';
const HKDF_INFO = new TextEncoder().encode('trupp-chat/passkey-wrapping-key/v1');
/** PRF outputs are 32 bytes; anything shorter is not a key. */
const PRF_BYTES = 32;

interface KeyRecord {
  version: 1;
  salt: string;
  iterations: number;
  iv: string;
  wrapped: string;
}

interface PasskeyRecord {
  version: 1;
  credentialId: string;
  /** The PRF input; the authenticator's output for it is the secret. */
  prfSalt: string;
  iv: string;
  wrapped: string;
}

interface AttemptsRecord {
  failures: number;
  waitUntil: number | null;
}

export interface AppLockOptions {
  kv: RawKv;
  /** PBKDF2 iterations for a new PIN (tests pass a small number). Unlocking uses the stored count. */
  iterations?: number;
  /** Minutes without `touch()` before locking; 0 turns auto-lock off. */
  autoLockMinutes?: number;
  now?: () => number;
  /** WebAuthn with PRF for the passkey unlock (tests pass a stub). */
  passkeys?: PrfCredentials;
}

/** How long to wait after `failures` wrong PINs in a row: 0 for the first four. */
export function backoffMs(failures: number): number {
  if (failures < FREE_ATTEMPTS) return 0;
  return Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (failures - FREE_ATTEMPTS));
}

const toBase64 = (data: Uint8Array): string => btoa(String.fromCharCode(...data));
const fromBase64 = (text: string): Uint8Array =>
  Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const parse = <T>(data: Uint8Array): T => JSON.parse(new TextDecoder().decode(data)) as T;

async function deriveWrappingKey(pin: string, salt: Uint8Array, iterations: number) {
  const material = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(pin),
    'PBKDF2',
    false,
    ['deriveKey'],
  );
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: bytes(salt), iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

async function derivePasskeyKey(secret: Uint8Array): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', bytes(secret), 'HKDF', false, [
    'deriveKey',
  ]);
  // No HKDF salt: the PRF output is uniformly random already, from a salt of its own.
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: HKDF_INFO },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** Binds the passkey-wrapped copy to its credential: it cannot be paired with another. */
function passkeyAad(credentialId: string): Uint8Array<ArrayBuffer> {
  return bytes(new TextEncoder().encode(PASSKEY_AAD + credentialId));
}

function importDataKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', bytes(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
}

function checkPin(pin: string): void {
  if (!PIN_PATTERN.test(pin)) throw new ChatLockError('CHAT_LOCK_PIN_INVALID');
}

export class AppLock {
  /** The chat's encrypted store; every call throws CHAT_LOCKED while locked. */
  readonly store: SecureStore;
  private readonly kv: RawKv;
  private readonly iterations: number;
  private readonly now: () => number;
  private readonly passkeys: PrfCredentials;
  private autoLockMs: number;
  private dataKey: CryptoKey | null = null;
  private lastActivity = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();
  /** PIN attempts run one after the other, so parallel guesses cannot share one failure count. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: AppLockOptions) {
    this.kv = options.kv;
    this.iterations = options.iterations ?? PBKDF2_ITERATIONS;
    this.now = options.now ?? Date.now;
    this.passkeys = options.passkeys ?? browserPrfCredentials;
    this.autoLockMs = (options.autoLockMinutes ?? DEFAULT_AUTO_LOCK_MINUTES) * 60_000;
    this.store = new SecureStore(this.kv, () => this.dataKey);
  }

  get isUnlocked(): boolean {
    return this.dataKey !== null;
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async hasPin(): Promise<boolean> {
    return (await this.kv.get(KEY_RECORD)) !== undefined;
  }

  /** When the next PIN attempt is allowed (epoch ms), or null when it is allowed now. */
  async waitUntil(): Promise<number | null> {
    const { waitUntil } = await this.attempts();
    return waitUntil !== null && waitUntil > this.now() ? waitUntil : null;
  }

  private async attempts(): Promise<AttemptsRecord> {
    const stored = await this.kv.get(ATTEMPTS_RECORD);
    return stored ? parse<AttemptsRecord>(stored) : { failures: 0, waitUntil: null };
  }

  private async wrapAndStore(pin: string, rawKey: Uint8Array): Promise<void> {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const wrappingKey = await deriveWrappingKey(pin, salt, this.iterations);
    const wrapped = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: WRAP_AAD },
      wrappingKey,
      bytes(rawKey),
    );
    const record: KeyRecord = {
      version: 1,
      salt: toBase64(salt),
      iterations: this.iterations,
      iv: toBase64(iv),
      wrapped: toBase64(new Uint8Array(wrapped)),
    };
    await this.kv.put(KEY_RECORD, json(record));
  }

  /**
   * The raw data key for `pin`, counting a failure (and starting the wait) when it is wrong.
   * The caller zeroes the returned bytes.
   */
  private async unwrap(pin: string): Promise<Uint8Array> {
    const stored = await this.kv.get(KEY_RECORD);
    if (!stored) throw new ChatLockError('CHAT_LOCK_NO_PIN');
    const attempts = await this.attempts();
    if (attempts.waitUntil !== null && attempts.waitUntil > this.now()) {
      throw new ChatLockError('CHAT_LOCK_WAIT', { waitUntil: attempts.waitUntil });
    }
    const record = parse<KeyRecord>(stored);
    const wrappingKey = await deriveWrappingKey(pin, fromBase64(record.salt), record.iterations);
    try {
      const raw = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: bytes(fromBase64(record.iv)), additionalData: WRAP_AAD },
        wrappingKey,
        bytes(fromBase64(record.wrapped)),
      );
      if (attempts.failures > 0) {
        await this.kv.put(ATTEMPTS_RECORD, json({ failures: 0, waitUntil: null }));
      }
      return new Uint8Array(raw);
    } catch {
      const failures = attempts.failures + 1;
      const wait = backoffMs(failures);
      const waitUntil = wait > 0 ? this.now() + wait : null;
      await this.kv.put(ATTEMPTS_RECORD, json({ failures, waitUntil } satisfies AttemptsRecord));
      throw new ChatLockError('CHAT_LOCK_WRONG_PIN', {
        attemptsLeft: Math.max(0, FREE_ATTEMPTS - failures),
        ...(waitUntil !== null ? { waitUntil } : {}),
      });
    }
  }

  private async open(raw: Uint8Array): Promise<void> {
    try {
      this.dataKey = await importDataKey(raw);
    } finally {
      raw.fill(0);
    }
    this.lastActivity = this.now();
    this.touch();
  }

  /**
   * Sets the first PIN: creates the data key and unlocks. Records left from an earlier
   * PIN (unreadable without it) are deleted.
   * @throws ChatLockError CHAT_LOCK_PIN_INVALID unless 6–12 digits; CHAT_LOCK_PIN_EXISTS.
   */
  setPin(pin: string): Promise<void> {
    return this.serial(async () => {
      checkPin(pin);
      if (await this.hasPin()) throw new ChatLockError('CHAT_LOCK_PIN_EXISTS');
      for (const name of await this.kv.keys(RECORD_PREFIX)) await this.kv.delete(name);
      await this.kv.delete(ATTEMPTS_RECORD);
      await this.kv.delete(PASSKEY_RECORD);
      const raw = crypto.getRandomValues(new Uint8Array(32));
      await this.wrapAndStore(pin, raw);
      await this.open(raw);
    });
  }

  /**
   * Unlocks with the PIN.
   * @throws ChatLockError CHAT_LOCK_WRONG_PIN (with attemptsLeft, and waitUntil once
   * waiting starts); CHAT_LOCK_WAIT while a wait runs; CHAT_LOCK_NO_PIN.
   */
  unlock(pin: string): Promise<void> {
    return this.serial(async () => this.open(await this.unwrap(pin)));
  }

  /**
   * Replaces the PIN; the data (and the data key) stay as they are. A wrong old PIN
   * counts as a failed attempt.
   * @throws ChatLockError as `unlock`, and CHAT_LOCK_PIN_INVALID for the new PIN.
   */
  changePin(oldPin: string, newPin: string): Promise<void> {
    return this.serial(async () => {
      checkPin(newPin);
      const raw = await this.unwrap(oldPin);
      try {
        await this.wrapAndStore(newPin, raw);
      } catch (error) {
        raw.fill(0);
        throw error;
      }
      await this.open(raw);
    });
  }

  /** Whether this browser can do WebAuthn at all (whether it has PRF shows only when tried). */
  get passkeysAvailable(): boolean {
    return this.passkeys.available();
  }

  async hasPasskey(): Promise<boolean> {
    return (await this.passkeyRecord()) !== undefined;
  }

  private async passkeyRecord(): Promise<PasskeyRecord | undefined> {
    const stored = await this.kv.get(PASSKEY_RECORD);
    return stored && parse<PasskeyRecord>(stored);
  }

  /** The PRF secret for a credential; WebAuthn failures (cancelled, not found) become ours. */
  private async evaluate(id: Uint8Array, salt: Uint8Array): Promise<Uint8Array> {
    let secret: Uint8Array | null;
    try {
      secret = await this.passkeys.evaluate(id, salt);
    } catch {
      throw new ChatLockError('CHAT_LOCK_PASSKEY_FAILED');
    }
    if (!secret || secret.length < PRF_BYTES) {
      throw new ChatLockError('CHAT_LOCK_PASSKEY_UNSUPPORTED');
    }
    return secret;
  }

  /**
   * Adds unlocking with a passkey: creates a credential for this device and wraps the data
   * key a second time under its PRF secret. Takes the PIN because the data key in memory
   * cannot be exported, and so that someone who finds the chat unlocked cannot add a way
   * in of their own; a wrong PIN counts as a failed attempt. The PIN is checked first, so
   * a wrong one fails before any system dialog. Replaces an earlier passkey unlock.
   * @throws ChatLockError as `unlock`; CHAT_LOCK_PASSKEY_UNSUPPORTED when the authenticator
   * gives no PRF output (nothing is stored then); CHAT_LOCK_PASSKEY_FAILED when the dialog
   * is cancelled or fails.
   */
  enablePasskey(pin: string): Promise<void> {
    return this.serial(async () => {
      const raw = await this.unwrap(pin);
      try {
        const prfSalt = crypto.getRandomValues(new Uint8Array(32));
        let created: CreatedPrfCredential;
        try {
          created = await this.passkeys.create(prfSalt);
        } catch {
          throw new ChatLockError('CHAT_LOCK_PASSKEY_FAILED');
        }
        let secret = created.first;
        try {
          // Most authenticators give the PRF output only when the credential is used.
          if (!secret && created.enabled !== false) {
            secret = await this.evaluate(created.id, prfSalt);
          }
          if (!secret || secret.length < PRF_BYTES) {
            throw new ChatLockError('CHAT_LOCK_PASSKEY_UNSUPPORTED');
          }
        } catch (error) {
          this.passkeys.forget(created.id);
          throw error;
        }
        const credentialId = toBase64(created.id);
        const iv = crypto.getRandomValues(new Uint8Array(12));
        const wrapped = await crypto.subtle.encrypt(
          { name: 'AES-GCM', iv, additionalData: passkeyAad(credentialId) },
          await derivePasskeyKey(secret),
          bytes(raw),
        );
        secret.fill(0);
        const previous = await this.passkeyRecord();
        const record: PasskeyRecord = {
          version: 1,
          credentialId,
          prfSalt: toBase64(prfSalt),
          iv: toBase64(iv),
          wrapped: toBase64(new Uint8Array(wrapped)),
        };
        await this.kv.put(PASSKEY_RECORD, json(record));
        if (previous && previous.credentialId !== credentialId) {
          this.passkeys.forget(fromBase64(previous.credentialId));
        }
      } finally {
        raw.fill(0);
      }
    });
  }

  /**
   * Unlocks with the passkey. Success also clears wrong-PIN failures and any wait: the
   * authenticator verified the user. Failures here do not count against the PIN; the
   * authenticator limits its own attempts.
   * @throws ChatLockError CHAT_LOCK_NO_PASSKEY; CHAT_LOCK_PASSKEY_UNSUPPORTED when the
   * authenticator gives no PRF output; CHAT_LOCK_PASSKEY_FAILED when the dialog is
   * cancelled or the secret does not open the key.
   */
  unlockWithPasskey(): Promise<void> {
    return this.serial(async () => {
      const record = await this.passkeyRecord();
      if (!record) throw new ChatLockError('CHAT_LOCK_NO_PASSKEY');
      const secret = await this.evaluate(
        fromBase64(record.credentialId),
        fromBase64(record.prfSalt),
      );
      let raw: Uint8Array;
      try {
        const plain = await crypto.subtle.decrypt(
          {
            name: 'AES-GCM',
            iv: bytes(fromBase64(record.iv)),
            additionalData: passkeyAad(record.credentialId),
          },
          await derivePasskeyKey(secret),
          bytes(fromBase64(record.wrapped)),
        );
        raw = new Uint8Array(plain);
      } catch {
        throw new ChatLockError('CHAT_LOCK_PASSKEY_FAILED');
      } finally {
        secret.fill(0);
      }
      if ((await this.attempts()).failures > 0) await this.kv.delete(ATTEMPTS_RECORD);
      await this.open(raw);
    });
  }

  /** Removes the passkey unlock (its wrapped copy only); the PIN keeps working. */
  disablePasskey(): Promise<void> {
    return this.serial(async () => {
      const record = await this.passkeyRecord();
      if (!record) return;
      await this.kv.delete(PASSKEY_RECORD);
      this.passkeys.forget(fromBase64(record.credentialId));
    });
  }

  /** Drops the data key from memory; the store throws CHAT_LOCKED until unlocked again. */
  lock(): void {
    clearTimeout(this.timer);
    this.lastActivity = 0;
    if (!this.dataKey) return;
    this.dataKey = null;
    for (const listener of this.listeners) listener();
  }

  /** Called when the lock locks itself (inactivity) or is locked; returns an unsubscribe. */
  onLock(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Deletes everything the chat stored on this device (keys, groups, messages, the PIN):
   * used by remote wipe and "forgot PIN". Cannot be undone.
   */
  async erase(): Promise<void> {
    this.lock();
    await this.serial(async () => {
      // Storage may be what is broken; erasing must still go ahead.
      const passkey = await this.passkeyRecord().catch(() => undefined);
      if (passkey) this.passkeys.forget(fromBase64(passkey.credentialId));
      await this.kv.destroy();
    });
  }

  /** The user did something: restart the inactivity timer (or lock, if it ran out unnoticed). */
  touch(): void {
    if (!this.dataKey) return;
    if (this.checkIdle()) return;
    this.lastActivity = this.now();
    clearTimeout(this.timer);
    if (this.autoLockMs > 0) this.timer = setTimeout(() => this.lock(), this.autoLockMs);
  }

  /**
   * Locks if the inactivity time has passed. Timers of a sleeping phone or a background
   * tab fire late or not at all, so this is also checked on activity and when the page
   * becomes visible again. Returns whether it locked.
   */
  checkIdle(): boolean {
    if (!this.dataKey || this.autoLockMs <= 0 || this.lastActivity === 0) return false;
    if (this.now() - this.lastActivity < this.autoLockMs) return false;
    this.lock();
    return true;
  }

  /** 0 turns auto-lock off. */
  setAutoLockMinutes(minutes: number): void {
    this.autoLockMs = Math.max(0, minutes) * 60_000;
    this.touch();
  }

  get autoLockMinutes(): number {
    return this.autoLockMs / 60_000;
  }
}
