/**
 * Erasing everything this browser keeps for Trupp, for a device that was revoked with
 * wipe. Each store is erased independently so one failing (a private window without
 * IndexedDB, say) never leaves the others intact.
 */
import { CHAT_DB_NAME } from '../chat/secure-store.ts';

/**
 * Deleted by name too, for browsers that cannot list databases (Firefox before 126):
 * the chat's keys and messages must never survive a wipe.
 */
const KNOWN_DATABASES = [CHAT_DB_NAME];

async function deleteIndexedDbDatabases(): Promise<void> {
  const factory = globalThis.indexedDB;
  if (!factory) return;
  const listed =
    typeof factory.databases === 'function' ? await factory.databases().catch(() => []) : [];
  const names = new Set([...KNOWN_DATABASES, ...listed.map(({ name }) => name)]);
  await Promise.all(
    [...names].map(
      (name) =>
        new Promise<void>((resolve) => {
          if (!name) return resolve();
          const request = factory.deleteDatabase(name);
          request.onsuccess = () => resolve();
          request.onerror = () => resolve();
          // Blocked: another tab still holds it open; it is deleted once that tab closes it.
          request.onblocked = () => resolve();
        }),
    ),
  );
}

async function deleteCaches(): Promise<void> {
  if (typeof caches === 'undefined') return;
  const keys = await caches.keys();
  await Promise.all(keys.map((key) => caches.delete(key)));
}

async function unregisterServiceWorkers(): Promise<void> {
  const container = typeof navigator !== 'undefined' ? navigator.serviceWorker : undefined;
  if (!container || typeof container.getRegistrations !== 'function') return;
  const registrations = await container.getRegistrations();
  await Promise.all(registrations.map((registration) => registration.unregister()));
}

/**
 * Erases localStorage, sessionStorage, every IndexedDB database, Cache Storage and the
 * service-worker registrations of this origin. Never throws.
 */
export async function eraseLocalData(): Promise<void> {
  for (const storage of [globalThis.localStorage, globalThis.sessionStorage]) {
    try {
      storage?.clear();
    } catch {
      // Storage disabled: nothing of ours can be in it.
    }
  }
  await Promise.allSettled([
    deleteIndexedDbDatabases(),
    deleteCaches(),
    unregisterServiceWorkers(),
  ]);
}

/** The erase function for components and stores (one place, so tests can stub it). */
export function useWipe() {
  return { eraseLocalData };
}
