import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { MemoryKv } from '../chat/secure-store.ts';
import { useChatLockStore } from './chat-lock.ts';

/** The lock store over the in-memory backend (the browser one is IndexedDB). */

beforeEach(() => {
  setActivePinia(createPinia());
});

async function freshStore(kv = new MemoryKv()) {
  const store = useChatLockStore();
  await store.init({ kv, iterations: 1000 });
  return store;
}

describe('chat lock store', () => {
  it('goes from no PIN to unlocked to locked, and the engine store follows', async () => {
    const store = await freshStore();
    expect(store.status).toBe('no-pin');

    expect(await store.setPin('12345678')).toBe(true);
    expect(store.status).toBe('unlocked');
    await store.chatStore().put('k', new Uint8Array([1, 2, 3]));

    store.lock();
    expect(store.status).toBe('locked');
    await expect(store.chatStore().get('k')).rejects.toMatchObject({ code: 'CHAT_LOCKED' });

    expect(await store.unlock('12345678')).toBe(true);
    expect(await store.chatStore().get('k')).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('reports a wrong PIN with the tries left, and the wait after the fifth', async () => {
    const kv = new MemoryKv();
    const store = await freshStore(kv);
    await store.setPin('12345678');
    store.lock();

    expect(await store.unlock('00000000')).toBe(false);
    expect(store.error).toBe('CHAT_LOCK_WRONG_PIN');
    expect(store.attemptsLeft).toBe(4);
    for (let i = 0; i < 4; i++) await store.unlock('00000000');
    expect(store.waitUntil).toBeGreaterThan(Date.now() + 25_000);

    // After a reload the wait is still there.
    setActivePinia(createPinia());
    const reloaded = await freshStore(kv);
    expect(reloaded.status).toBe('locked');
    expect(reloaded.waitUntil).toBeGreaterThan(Date.now() + 25_000);
  });

  it('erasing leaves no PIN and no data', async () => {
    const kv = new MemoryKv();
    const store = await freshStore(kv);
    await store.setPin('12345678');
    await store.chatStore().put('k', new Uint8Array([1]));
    store.lock();

    expect(await store.erase()).toBe(true);
    expect(store.status).toBe('no-pin');
    expect(kv.data.size).toBe(0);
  });
});
