/**
 * The chat's local storage, encrypted at rest. MLS private keys, group state and the
 * decrypted message cache go through `SecureStore`; every value is sealed with AES-GCM
 * under the data key that `AppLock` (app-lock.ts) holds while the app is unlocked. Record
 * names are not secret (they index the data), values are.
 *
 * Layers, bottom up: a raw key-value store of bytes (`RawKv`: IndexedDB in the browser, a
 * Map in tests), then `SecureStore`, which implements the engine's `ChatStore`.
 */

/**
 * The storage interface of `@trupp/chat-client` (the engine exports the same one). Copied,
 * not imported, so the lock does not depend on the engine.
 */
export interface ChatStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
}

export type ChatLockErrorCode =
  /** The store is locked: unlock with the PIN first. */
  | 'CHAT_LOCKED'
  /** No PIN is set yet on this device. */
  | 'CHAT_LOCK_NO_PIN'
  /** A PIN is set already (use changePin). */
  | 'CHAT_LOCK_PIN_EXISTS'
  /** The PIN is not 6–12 digits. */
  | 'CHAT_LOCK_PIN_INVALID'
  | 'CHAT_LOCK_WRONG_PIN'
  /** Too many wrong PINs: wait until `waitUntil`. */
  | 'CHAT_LOCK_WAIT'
  /** A stored record or the wrapped key failed authentication (tampered or damaged). */
  | 'CHAT_LOCK_CORRUPT'
  /** Passkey unlock is not set up on this device. */
  | 'CHAT_LOCK_NO_PASSKEY'
  /** The authenticator gives no PRF output, so it cannot hold a key: the PIN stays the only way. */
  | 'CHAT_LOCK_PASSKEY_UNSUPPORTED'
  /** The passkey dialog was cancelled or failed, or its secret did not open the key. */
  | 'CHAT_LOCK_PASSKEY_FAILED';

export class ChatLockError extends Error {
  constructor(
    readonly code: ChatLockErrorCode,
    readonly details: { waitUntil?: number; attemptsLeft?: number } = {},
  ) {
    super(code);
    this.name = 'ChatLockError';
  }
}

/** Bytes by name; the one thing a storage backend has to do. */
export interface RawKv {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key starting with `prefix`, sorted. */
  keys(prefix: string): Promise<string[]>;
  /** Deletes everything, and the database itself where there is one. */
  destroy(): Promise<void>;
}

/** For tests: `data` shows exactly what would be on disk. */
export class MemoryKv implements RawKv {
  readonly data = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = this.data.get(key);
    return value && new Uint8Array(value);
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.data.set(key, new Uint8Array(value));
  }

  async delete(key: string): Promise<void> {
    this.data.delete(key);
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.data.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  async destroy(): Promise<void> {
    this.data.clear();
  }
}

/** The browser database of the chat. Remote wipe and "forgot PIN" delete it as a whole. */
export const CHAT_DB_NAME = 'trupp-chat';
const OBJECT_STORE = 'kv';

function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** One object store of byte values keyed by string. */
export class IndexedDbKv implements RawKv {
  private db: Promise<IDBDatabase> | null = null;

  constructor(
    private readonly name = CHAT_DB_NAME,
    private readonly factory: IDBFactory = globalThis.indexedDB,
  ) {}

  private open(): Promise<IDBDatabase> {
    if (this.db) return this.db;
    const request = this.factory.open(this.name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(OBJECT_STORE);
    this.db = requestResult(request).then((db) => {
      // Another tab (or the remote wipe) deletes the database: let it, and reopen on next use.
      db.onversionchange = () => {
        db.close();
        this.db = null;
      };
      return db;
    });
    this.db.catch(() => (this.db = null));
    return this.db;
  }

  private async run<T>(
    mode: IDBTransactionMode,
    action: (store: IDBObjectStore) => IDBRequest<T>,
  ): Promise<T> {
    const db = await this.open();
    // Strict durability: a lost MLS state write would leave this device out of its groups.
    const tx = db.transaction(OBJECT_STORE, mode, { durability: 'strict' });
    const result = requestResult(action(tx.objectStore(OBJECT_STORE)));
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    });
    return result;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value: unknown = await this.run('readonly', (store) => store.get(key));
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    return undefined;
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.run('readwrite', (store) => store.put(value, key));
  }

  async delete(key: string): Promise<void> {
    await this.run('readwrite', (store) => store.delete(key));
  }

  async keys(prefix: string): Promise<string[]> {
    const range = prefix ? IDBKeyRange.bound(prefix, `${prefix}\uffff`) : undefined;
    const keys = await this.run('readonly', (store) => store.getAllKeys(range));
    return keys.filter((key): key is string => typeof key === 'string');
  }

  async destroy(): Promise<void> {
    const open = this.db;
    this.db = null;
    if (open) (await open.catch(() => null))?.close();
    await new Promise<void>((resolve, reject) => {
      const request = this.factory.deleteDatabase(this.name);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
      // Another tab holds it open; it is deleted as soon as that tab lets go (see onversionchange).
      request.onblocked = () => resolve();
    });
  }
}

const encoder = new TextEncoder();
export const IV_BYTES = 12;
/** Record names in the raw store; `lock:` holds the lock's own (unencrypted) metadata. */
export const RECORD_PREFIX = 'record:';

/** Copies into a fresh ArrayBuffer-backed view, the type WebCrypto's typings insist on. */
export function bytes(value: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(value.byteLength);
  copy.set(value);
  return copy;
}

/**
 * `ChatStore` over a `RawKv`: each value is stored as a random 96-bit IV followed by the
 * AES-GCM ciphertext and tag, with the record's name as additional data, so a value
 * copied under another name fails to decrypt instead of being read as that record.
 */
export class SecureStore implements ChatStore {
  constructor(
    private readonly kv: RawKv,
    private readonly dataKey: () => CryptoKey | null,
  ) {}

  private key(): CryptoKey {
    const key = this.dataKey();
    if (!key) throw new ChatLockError('CHAT_LOCKED');
    return key;
  }

  /**
   * @throws ChatLockError CHAT_LOCKED while locked; CHAT_LOCK_CORRUPT when the stored
   * value does not authenticate under this name.
   */
  async get(key: string): Promise<Uint8Array | undefined> {
    const dataKey = this.key();
    const name = RECORD_PREFIX + key;
    const sealed = await this.kv.get(name);
    if (!sealed) return undefined;
    try {
      const plain = await crypto.subtle.decrypt(
        {
          name: 'AES-GCM',
          iv: bytes(sealed.subarray(0, IV_BYTES)),
          additionalData: encoder.encode(name),
        },
        dataKey,
        bytes(sealed.subarray(IV_BYTES)),
      );
      return new Uint8Array(plain);
    } catch {
      throw new ChatLockError('CHAT_LOCK_CORRUPT');
    }
  }

  /** @throws ChatLockError CHAT_LOCKED while locked. */
  async put(key: string, value: Uint8Array): Promise<void> {
    const dataKey = this.key();
    const name = RECORD_PREFIX + key;
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const sealed = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: encoder.encode(name) },
      dataKey,
      bytes(value),
    );
    const record = new Uint8Array(IV_BYTES + sealed.byteLength);
    record.set(iv);
    record.set(new Uint8Array(sealed), IV_BYTES);
    await this.kv.put(name, record);
  }

  /** @throws ChatLockError CHAT_LOCKED while locked. */
  async delete(key: string): Promise<void> {
    this.key();
    await this.kv.delete(RECORD_PREFIX + key);
  }

  /** @throws ChatLockError CHAT_LOCKED while locked. */
  async keys(prefix: string): Promise<string[]> {
    this.key();
    const names = await this.kv.keys(RECORD_PREFIX + prefix);
    return names.map((name) => name.slice(RECORD_PREFIX.length));
  }
}
