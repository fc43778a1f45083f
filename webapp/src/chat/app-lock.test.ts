import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppLock, backoffMs, ChatLockError, type AppLockOptions } from './app-lock.ts';
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
