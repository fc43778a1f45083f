/* Trupp service worker: wakes the device for alarms (Web Push) and answers from the
 * notification. A push carries only an opaque alarm id; the content is fetched from our
 * own server with the device's access token, which the page keeps in IndexedDB for us.
 * Nothing else is cached here yet. */

const DB_NAME = 'trupp-sw';
const STORE = 'kv';

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function readToken() {
  try {
    const db = await openDb();
    return await new Promise((resolve) => {
      const get = db.transaction(STORE).objectStore(STORE).get('token');
      get.onsuccess = () => resolve(typeof get.result === 'string' ? get.result : null);
      get.onerror = () => resolve(null);
    });
  } catch {
    return null;
  }
}

async function api(method, path, body) {
  const token = await readToken();
  if (!token) return null;
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return response.ok ? response.json() : null;
}

function german() {
  return (self.navigator.language || '').toLowerCase().startsWith('de');
}

async function showAlarm(id) {
  const de = german();
  let title = de ? 'Trupp – Alarm' : 'Trupp – alarm';
  let body = de ? 'Öffne Trupp, um den Alarm zu sehen.' : 'Open Trupp to see the alarm.';
  let isTest = false;
  try {
    const alarm = await api('GET', `/api/me/alarms/${encodeURIComponent(id)}`);
    if (alarm) {
      title = alarm.isTest ? `${de ? 'PROBE' : 'TEST'}: ${alarm.keyword}` : alarm.keyword;
      body = [alarm.title, alarm.address].filter(Boolean).join('\n');
      isTest = alarm.isTest;
      if (alarm.closedAt || alarm.myResponse) return;
    }
  } catch {
    // Offline or the token expired: the generic text still wakes the member.
  }
  await self.registration.showNotification(title, {
    body,
    tag: `alarm-${id}`,
    renotify: true,
    requireInteraction: !isTest,
    vibrate: [600, 300, 600, 300, 600],
    data: { id },
    actions: [
      { action: 'coming', title: de ? 'Ich komme' : 'Coming' },
      { action: 'not_coming', title: de ? 'Komme nicht' : 'Not coming' },
    ],
  });
}

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  if (data.type === 'alarm' && typeof data.id === 'string') event.waitUntil(showAlarm(data.id));
});

async function answerFromNotification(id, action) {
  const answered = await api('POST', `/api/me/alarms/${encodeURIComponent(id)}/response`, {
    response: action,
    etaMinutes: null,
  }).catch(() => null);
  if (answered) return;
  // No valid token here (expired or offline): the app answers once it is open.
  const params = new URLSearchParams({ alarm: id, answer: action });
  await self.clients.openWindow(`/?${params.toString()}`);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const id = event.notification.data && event.notification.data.id;
  if (!id) return;
  if (event.action === 'coming' || event.action === 'not_coming') {
    event.waitUntil(answerFromNotification(id, event.action));
    return;
  }
  event.waitUntil(
    self.clients.matchAll({ type: 'window' }).then((windows) => {
      const open = windows.find((w) => 'focus' in w);
      return open ? open.focus() : self.clients.openWindow('/');
    }),
  );
});
