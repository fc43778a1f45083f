import { describe, expect, it, vi } from 'vitest';
import { eraseLocalData } from './useWipe.ts';

describe('eraseLocalData', () => {
  it('empties localStorage and sessionStorage', async () => {
    localStorage.setItem('trupp.session', '{"accessToken":"a"}');
    localStorage.setItem('other', '1');
    sessionStorage.setItem('draft', 'x');

    await eraseLocalData();

    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
  });

  // happy-dom has no IndexedDB, Cache Storage or service workers: erasing must still finish
  // (the real browser test in test/e2e checks that IndexedDB databases are deleted).
  it('completes where IndexedDB, caches and service workers do not exist', async () => {
    expect(globalThis.indexedDB).toBeUndefined();
    await expect(eraseLocalData()).resolves.toBeUndefined();
  });

  it('deletes the chat database by name where the browser cannot list databases', async () => {
    const deleted: string[] = [];
    vi.stubGlobal('indexedDB', {
      deleteDatabase(name: string) {
        deleted.push(name);
        const request: { onsuccess?: () => void } = {};
        queueMicrotask(() => request.onsuccess?.());
        return request;
      },
    });
    try {
      await eraseLocalData();
    } finally {
      vi.unstubAllGlobals();
    }
    expect(deleted).toEqual(['trupp-chat']);
  });
});
