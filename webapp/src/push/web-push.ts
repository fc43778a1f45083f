/**
 * Web Push for alarms while the app is closed: the service worker (`/sw.js`), this
 * device's push subscription, and the access token the worker uses to fetch an alarm's
 * content (a push carries only an opaque id). The token lives in the worker's own
 * IndexedDB database, which a remote wipe erases with everything else.
 */
import { request } from '../api/http.ts';

const DB_NAME = 'trupp-sw';
const STORE = 'kv';

export type PushState = 'unsupported' | 'denied' | 'off' | 'on';

function supported(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    'serviceWorker' in navigator &&
    typeof window !== 'undefined' &&
    'PushManager' in window &&
    'Notification' in window
  );
}

export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return null;
  try {
    return await navigator.serviceWorker.register('/sw.js');
  } catch {
    return null;
  }
}

/**
 * Hands the current access token (or null after sign-out) to the service worker. On
 * sign-out the data the worker kept for offline use (last positions, `trupp-data-*`
 * caches) goes too: it belongs to the user who signed out.
 */
export async function syncWorkerToken(token: string | null): Promise<void> {
  if (!token && typeof caches !== 'undefined') {
    for (const name of await caches.keys().catch(() => [])) {
      if (name.startsWith('trupp-data-')) await caches.delete(name).catch(() => false);
    }
  }
  if (typeof indexedDB === 'undefined') return;
  await new Promise<void>((resolve) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onerror = () => resolve();
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(STORE, 'readwrite');
      if (token) tx.objectStore(STORE).put(token, 'token');
      else tx.objectStore(STORE).delete('token');
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = () => resolve();
    };
  });
}

export async function pushState(): Promise<PushState> {
  if (!supported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  return subscription ? 'on' : 'off';
}

/**
 * Asks for notification permission (call from a tap), subscribes with the server's
 * VAPID key and registers the subscription for this device.
 */
export async function enablePush(): Promise<PushState> {
  if (!supported()) return 'unsupported';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'denied' : 'off';
  const registration = (await registerServiceWorker()) ?? (await navigator.serviceWorker.ready);
  const { publicKey } = await request<{ publicKey: string }>('GET', '/api/push/key');
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: base64UrlToBytes(publicKey),
  });
  const json = subscription.toJSON();
  await request('PUT', '/api/me/push', {
    body: { endpoint: json.endpoint, keys: { p256dh: json.keys?.p256dh, auth: json.keys?.auth } },
  });
  return 'on';
}

export async function disablePush(): Promise<PushState> {
  if (!supported()) return 'unsupported';
  const registration = await navigator.serviceWorker.getRegistration();
  await (await registration?.pushManager.getSubscription())?.unsubscribe();
  await request('DELETE', '/api/me/push');
  return 'off';
}

function base64UrlToBytes(value: string): Uint8Array<ArrayBuffer> {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
