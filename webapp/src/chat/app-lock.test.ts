import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppLock, backoffMs, ChatLockError, type AppLockOptions } from './app-lock.ts';
import type { PrfCredentials } from './passkey-prf.ts';
import { MemoryKv } from './secure-store.ts';

/**
 * The app lock and its encrypted store on the in-memory backend, with real WebCrypto and
 * a small PBKDF2 iteration count (the production count only makes this slower).
 */

const PIN = '123456';
const text = (value: string) => new TextEncoder().encode(value);
const read = (value: Uint8Array | undefined) => value && new TextDecoder().decode(value);

function setup(options: Partial<AppLockOptions> = {}) {
  const kv = new MemoryKv();
  const lock = new AppLock({ kv, iterations: 1000, ...options });
  return { kv, lock };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ChatLockError) return error.code;
    throw error;
  }
  return 'resolved';
}

/** The ChatLockError a call fails with; fails the test when the call succeeds. */
async function failure(promise: Promise<unknown>): Promise<ChatLockError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ChatLockError)) throw new Error(`expected a ChatLockError, got ${error}`);
  return error;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('secure store', () => {
  it('stores and reads back records once a PIN is set, and lists keys by prefix', async () => {
    const { lock } = setup();
    expect(await lock.hasPin()).toBe(false);
    await lock.setPin(PIN);
    expect(await lock.hasPin()).toBe(true);
    expect(lock.isUnlocked).toBe(true);

    await lock.store.put('group/a/state', text('epoch 3'));
    await lock.store.put('group/b/state', text('epoch 9'));
    await lock.store.put('message/1', text('hello'));

    expect(read(await lock.store.get('group/a/state'))).toBe('epoch 3');
    expect(await lock.store.get('missing')).toBeUndefined();
    expect(await lock.store.keys('group/')).toEqual(['group/a/state', 'group/b/state']);
    await lock.store.delete('group/a/state');
    expect(await lock.store.keys('group/')).toEqual(['group/b/state']);
  });

  it('keeps no plaintext at rest, neither of records nor of the data key', async () => {
    const { kv, lock } = setup();
    await lock.setPin(PIN);
    const secret = text('the gas valve is behind the blue door');
    await lock.store.put('message/1', secret);

    for (const value of kv.data.values()) expect(contains(value, secret)).toBe(false);
    const stored = [...kv.data.values()].map((value) => new TextDecoder().decode(value)).join();
    expect(stored).not.toContain(PIN);
    // IV + ciphertext + 16-byte tag.
    expect(kv.data.get('record:message/1')?.length).toBe(12 + secret.length + 16);
  });

  it('refuses a record moved under another name', async () => {
    const { kv, lock } = setup();
    await lock.setPin(PIN);
    await lock.store.put('member/alice', text('admin'));
    await lock.store.put('member/bob', text('member'));

    kv.data.set('record:member/bob', kv.data.get('record:member/alice')!);

    expect(await codeOf(lock.store.get('member/bob'))).toBe('CHAT_LOCK_CORRUPT');
    expect(read(await lock.store.get('member/alice'))).toBe('admin');
  });

  it('refuses a tampered record', async () => {
    const { kv, lock } = setup();
    await lock.setPin(PIN);
    await lock.store.put('k', text('value'));
    const sealed = kv.data.get('record:k')!;
    sealed[sealed.length - 1]! ^= 1;
    expect(await codeOf(lock.store.get('k'))).toBe('CHAT_LOCK_CORRUPT');
  });
});

describe('PIN', () => {
  it('accepts 6 to 12 digits only', async () => {
    const { lock } = setup();
    expect(await codeOf(lock.setPin('12345'))).toBe('CHAT_LOCK_PIN_INVALID');
    expect(await codeOf(lock.setPin('1234567890123'))).toBe('CHAT_LOCK_PIN_INVALID');
    expect(await codeOf(lock.setPin('12345a'))).toBe('CHAT_LOCK_PIN_INVALID');
    expect(await lock.hasPin()).toBe(false);
    await lock.setPin('123456789012');
    expect(await codeOf(lock.setPin(PIN))).toBe('CHAT_LOCK_PIN_EXISTS');
  });

  it('locking drops access; the right PIN restores it, a wrong one does not', async () => {
    const { kv, lock } = setup();
    await lock.setPin(PIN);
    await lock.store.put('k', text('v'));
    lock.lock();

    expect(lock.isUnlocked).toBe(false);
    expect(await codeOf(lock.store.get('k'))).toBe('CHAT_LOCKED');
    expect(await codeOf(lock.store.put('k', text('x')))).toBe('CHAT_LOCKED');
    expect(await codeOf(lock.store.keys(''))).toBe('CHAT_LOCKED');

    expect(await codeOf(lock.unlock('654321'))).toBe('CHAT_LOCK_WRONG_PIN');
    expect(lock.isUnlocked).toBe(false);

    // A fresh instance on the same storage, as after a reload.
    const again = new AppLock({ kv, iterations: 1000 });
    await again.unlock(PIN);
    expect(read(await again.store.get('k'))).toBe('v');
  });

  it('changing the PIN keeps the data; the old PIN stops working', async () => {
    const { kv, lock } = setup();
    await lock.setPin(PIN);
    await lock.store.put('k', text('kept'));
    const sealedBefore = kv.data.get('record:k');

    expect(await codeOf(lock.changePin('000000', '24681357'))).toBe('CHAT_LOCK_WRONG_PIN');
    expect(await codeOf(lock.changePin(PIN, '12'))).toBe('CHAT_LOCK_PIN_INVALID');
    await lock.changePin(PIN, '24681357');
    lock.lock();

    expect(await codeOf(lock.unlock(PIN))).toBe('CHAT_LOCK_WRONG_PIN');
    await lock.unlock('24681357');
    expect(read(await lock.store.get('k'))).toBe('kept');
    // The data key did not change: records were not re-encrypted.
    expect(kv.data.get('record:k')).toEqual(sealedBefore);
  });

  it('makes the user wait after 5 wrong PINs, longer each time, across reloads', async () => {
    let now = 1_000_000;
    const { kv, lock } = setup({ now: () => now });
    await lock.setPin(PIN);
    lock.lock();

    for (let attempt = 1; attempt <= 4; attempt++) {
      const error = await failure(lock.unlock('999999'));
      expect(error.code).toBe('CHAT_LOCK_WRONG_PIN');
      expect(error.details).toEqual({ attemptsLeft: 5 - attempt });
    }
    const fifth = await failure(lock.unlock('999999'));
    expect(fifth.details.waitUntil).toBe(now + 30_000);

    // Even the right PIN is not tried while the wait runs, and a reload does not reset it.
    const reloaded = new AppLock({ kv, iterations: 1000, now: () => now });
    expect(await reloaded.waitUntil()).toBe(now + 30_000);
    const waiting = await failure(reloaded.unlock(PIN));
    expect(waiting.code).toBe('CHAT_LOCK_WAIT');
    expect(reloaded.isUnlocked).toBe(false);

    now += 30_000;
    const sixth = await failure(reloaded.unlock('999999'));
    expect(sixth.details.waitUntil).toBe(now + 60_000);

    now += 60_000;
    await reloaded.unlock(PIN);
    expect(reloaded.isUnlocked).toBe(true);
    // Success resets the count: the next mistake costs no wait.
    reloaded.lock();
    const after = await failure(reloaded.unlock('999999'));
    expect(after.details).toEqual({ attemptsLeft: 4 });
  });

  it('grows the wait by doubling up to an hour', () => {
    expect([4, 5, 6, 7].map(backoffMs)).toEqual([0, 30_000, 60_000, 120_000]);
    expect(backoffMs(40)).toBe(3_600_000);
  });

  it('erasing deletes the data and the PIN', async () => {
    const { kv, lock } = setup();
    await lock.setPin(PIN);
    await lock.store.put('k', text('v'));
    await lock.erase();
    expect(kv.data.size).toBe(0);
    expect(lock.isUnlocked).toBe(false);
    expect(await lock.hasPin()).toBe(false);
    await lock.setPin('111111');
    expect(await lock.store.get('k')).toBeUndefined();
  });
});

describe('auto-lock', () => {
  it('locks after the inactivity time; activity postpones it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { lock } = setup({ autoLockMinutes: 5 });
    const locked = vi.fn();
    lock.onLock(locked);
    await lock.setPin(PIN);

    vi.advanceTimersByTime(4 * 60_000);
    lock.touch();
    vi.advanceTimersByTime(4 * 60_000);
    expect(lock.isUnlocked).toBe(true);

    vi.advanceTimersByTime(60_000);
    expect(lock.isUnlocked).toBe(false);
    expect(locked).toHaveBeenCalledOnce();
  });

  it('locks on the next activity when the timer never fired (sleeping phone)', async () => {
    let now = 1_000_000;
    const { lock } = setup({ autoLockMinutes: 1, now: () => now });
    await lock.setPin(PIN);
    now += 61_000;
    lock.touch();
    expect(lock.isUnlocked).toBe(false);
    // Unlocking again starts a fresh period instead of locking at once.
    await lock.unlock(PIN);
    expect(lock.isUnlocked).toBe(true);
    lock.lock();
  });
});

/**
 * A pretend authenticator: each credential has a secret, and its PRF is HMAC-SHA256 over
 * the salt, as in CTAP's hmac-secret. `lie` makes it answer with another credential's
 * secret, `prf: false` makes it one without PRF.
 */
function authenticator(options: { prf?: boolean; atCreate?: boolean } = {}) {
  const secrets = new Map<string, Uint8Array>();
  const state = { lie: false, cancel: false, created: 0, evaluated: 0, forgotten: [] as string[] };
  const name = (id: Uint8Array) => id.join('.');
  async function prf(secret: Uint8Array, salt: Uint8Array): Promise<Uint8Array> {
    const key = await crypto.subtle.importKey(
      'raw',
      new Uint8Array(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, new Uint8Array(salt)));
  }
  const credentials: PrfCredentials = {
    available: () => true,
    async create(salt) {
      if (state.cancel) throw new DOMException('cancelled', 'NotAllowedError');
      state.created++;
      const id = crypto.getRandomValues(new Uint8Array(16));
      const secret = crypto.getRandomValues(new Uint8Array(32));
      secrets.set(name(id), secret);
      const supported = options.prf ?? true;
      return {
        id,
        enabled: supported,
        first: supported && options.atCreate ? await prf(secret, salt) : null,
      };
    },
    async evaluate(id, salt) {
      if (state.cancel) throw new DOMException('cancelled', 'NotAllowedError');
      state.evaluated++;
      const secret = secrets.get(name(id));
      if (!secret) throw new DOMException('no such credential', 'NotAllowedError');
      if (!(options.prf ?? true)) return null;
      return prf(state.lie ? crypto.getRandomValues(new Uint8Array(32)) : secret, salt);
    },
    forget(id) {
      state.forgotten.push(name(id));
      secrets.delete(name(id));
    },
  };
  return { credentials, state, secrets };
}

function passkeyRecord(kv: MemoryKv) {
  const stored = kv.data.get('lock:passkey');
  return stored && (JSON.parse(new TextDecoder().decode(stored)) as Record<string, unknown>);
}

describe('passkey unlock', () => {
  it('wraps the same data key a second time; the passkey alone opens the data', async () => {
    const device = authenticator();
    const { kv, lock } = setup({ passkeys: device.credentials });
    await lock.setPin(PIN);
    await lock.store.put('message/1', text('Einsatz Lindenweg'));
    const pinCopy = kv.data.get('lock:key');

    await lock.enablePasskey(PIN);
    expect(await lock.hasPasskey()).toBe(true);
    // The PIN-wrapped copy stays as it was; the second copy sits beside it.
    expect(kv.data.get('lock:key')).toEqual(pinCopy);
    const record = passkeyRecord(kv)!;
    expect(Object.keys(record).sort()).toEqual(
      ['credentialId', 'iv', 'prfSalt', 'version', 'wrapped'].sort(),
    );
    expect(atob(record.prfSalt as string)).toHaveLength(32);
    expect(device.state).toMatchObject({ created: 1, evaluated: 1 });

    lock.lock();
    await expect(lock.store.get('message/1')).rejects.toMatchObject({ code: 'CHAT_LOCKED' });
    await lock.unlockWithPasskey();
    expect(lock.isUnlocked).toBe(true);
    expect(read(await lock.store.get('message/1'))).toBe('Einsatz Lindenweg');
  });

  it('uses the PRF output given at creation without asking the authenticator again', async () => {
    const device = authenticator({ atCreate: true });
    const { lock } = setup({ passkeys: device.credentials });
    await lock.setPin(PIN);
    await lock.enablePasskey(PIN);
    expect(device.state).toMatchObject({ created: 1, evaluated: 0 });
    lock.lock();
    await lock.unlockWithPasskey();
    expect(lock.isUnlocked).toBe(true);
  });

  it('keeps the PIN working, also after the PIN changes', async () => {
    const { lock } = setup({ passkeys: authenticator().credentials });
    await lock.setPin(PIN);
    await lock.store.put('k', text('v'));
    await lock.enablePasskey(PIN);

    lock.lock();
    await lock.unlock(PIN);
    expect(read(await lock.store.get('k'))).toBe('v');

    await lock.changePin(PIN, '98765432');
    lock.lock();
    await lock.unlockWithPasskey();
    expect(read(await lock.store.get('k'))).toBe('v');
    lock.lock();
    await lock.unlock('98765432');
    expect(lock.isUnlocked).toBe(true);
  });

  it('does not open with a wrong PRF output, and that does not count against the PIN', async () => {
    const device = authenticator();
    const { lock } = setup({ passkeys: device.credentials });
    await lock.setPin(PIN);
    await lock.enablePasskey(PIN);
    lock.lock();

    device.state.lie = true;
    for (let i = 0; i < 6; i++) {
      expect(await codeOf(lock.unlockWithPasskey())).toBe('CHAT_LOCK_PASSKEY_FAILED');
    }
    expect(lock.isUnlocked).toBe(false);
    expect(await lock.waitUntil()).toBeNull();
    await lock.unlock(PIN);
    expect(lock.isUnlocked).toBe(true);
  });

  it('does not open when the copy is paired with another credential', async () => {
    const device = authenticator();
    const { kv, lock } = setup({ passkeys: device.credentials });
    await lock.setPin(PIN);
    await lock.enablePasskey(PIN);
    const record = passkeyRecord(kv)!;
    // Another credential id with the very same PRF secret: only the binding can tell.
    const realId = Uint8Array.from(atob(record.credentialId as string), (c) => c.charCodeAt(0));
    const otherId = new Uint8Array(16).fill(7);
    device.secrets.set(otherId.join('.'), device.secrets.get(realId.join('.'))!);
    const credentialId = btoa(String.fromCharCode(...otherId));
    await kv.put('lock:passkey', text(JSON.stringify({ ...record, credentialId })));
    lock.lock();
    expect(await codeOf(lock.unlockWithPasskey())).toBe('CHAT_LOCK_PASSKEY_FAILED');
  });

  it('forgets the earlier credential when a new one replaces it', async () => {
    const device = authenticator();
    const { kv, lock } = setup({ passkeys: device.credentials });
    await lock.setPin(PIN);
    await lock.enablePasskey(PIN);
    const first = passkeyRecord(kv)!.credentialId;
    await lock.enablePasskey(PIN);
    expect(passkeyRecord(kv)!.credentialId).not.toBe(first);
    expect(device.state.forgotten).toHaveLength(1);
    lock.lock();
    await lock.unlockWithPasskey();
    expect(lock.isUnlocked).toBe(true);
  });

  it('says so and keeps the PIN only when the authenticator has no PRF', async () => {
    const device = authenticator({ prf: false });
    const { kv, lock } = setup({ passkeys: device.credentials });
    await lock.setPin(PIN);
    expect(await codeOf(lock.enablePasskey(PIN))).toBe('CHAT_LOCK_PASSKEY_UNSUPPORTED');
    expect(await lock.hasPasskey()).toBe(false);
    expect(kv.data.has('lock:passkey')).toBe(false);
    // The useless credential is not left behind in the password manager.
    expect(device.state.forgotten).toHaveLength(1);
    lock.lock();
    expect(await codeOf(lock.unlockWithPasskey())).toBe('CHAT_LOCK_NO_PASSKEY');
    await lock.unlock(PIN);
    expect(lock.isUnlocked).toBe(true);
  });

  it('asks for the right PIN before any passkey dialog, counting a wrong one', async () => {
    const device = authenticator();
    const { lock } = setup({ passkeys: device.credentials });
    await lock.setPin(PIN);
    const wrong = await failure(lock.enablePasskey('000000'));
    expect(wrong.code).toBe('CHAT_LOCK_WRONG_PIN');
    expect(wrong.details.attemptsLeft).toBe(4);
    expect(device.state.created).toBe(0);
    expect(await lock.hasPasskey()).toBe(false);
  });

  it('reports a cancelled dialog and stays locked', async () => {
    const device = authenticator();
    const { lock } = setup({ passkeys: device.credentials });
    await lock.setPin(PIN);
    device.state.cancel = true;
    expect(await codeOf(lock.enablePasskey(PIN))).toBe('CHAT_LOCK_PASSKEY_FAILED');
    expect(await lock.hasPasskey()).toBe(false);
    device.state.cancel = false;
    await lock.enablePasskey(PIN);
    lock.lock();
    device.state.cancel = true;
    expect(await codeOf(lock.unlockWithPasskey())).toBe('CHAT_LOCK_PASSKEY_FAILED');
    expect(lock.isUnlocked).toBe(false);
  });

  it('clears a running PIN wait once the passkey unlocks', async () => {
    let now = 1_000_000;
    const { lock } = setup({ passkeys: authenticator().credentials, now: () => now });
    await lock.setPin(PIN);
    await lock.enablePasskey(PIN);
    lock.lock();
    for (let i = 0; i < 5; i++) await codeOf(lock.unlock('000000'));
    expect(await lock.waitUntil()).toBe(now + 30_000);
    await lock.unlockWithPasskey();
    expect(await lock.waitUntil()).toBeNull();
    lock.lock();
    now += 1;
    await lock.unlock(PIN);
    expect(lock.isUnlocked).toBe(true);
  });

  it('removing it deletes only the passkey copy; erasing deletes everything', async () => {
    const device = authenticator();
    const { kv, lock } = setup({ passkeys: device.credentials });
    await lock.setPin(PIN);
    await lock.store.put('k', text('v'));
    await lock.enablePasskey(PIN);

    await lock.disablePasskey();
    expect(await lock.hasPasskey()).toBe(false);
    expect(device.state.forgotten).toHaveLength(1);
    expect(await lock.hasPin()).toBe(true);
    lock.lock();
    expect(await codeOf(lock.unlockWithPasskey())).toBe('CHAT_LOCK_NO_PASSKEY');
    await lock.unlock(PIN);
    expect(read(await lock.store.get('k'))).toBe('v');

    await lock.enablePasskey(PIN);
    await lock.erase();
    expect(kv.data.size).toBe(0);
    expect(device.state.forgotten).toHaveLength(2);
    expect(await lock.hasPasskey()).toBe(false);
    expect(await codeOf(lock.unlockWithPasskey())).toBe('CHAT_LOCK_NO_PASSKEY');
  });
});
