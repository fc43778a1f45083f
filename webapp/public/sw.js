/* Trupp service worker.
 *
 * 1. Web Push: wakes the device for alarms and answers from the notification. A push
 *    carries only an opaque alarm id; the content is fetched from our own server with the
 *    device's access token, which the page keeps in IndexedDB for us.
 * 2. Offline: keeps the app shell, the basemap and the last known positions so the map
 *    stays usable without network.
 *    - App shell: `/precache.json` (written by the web app build) lists every built file;
 *      they are cached under `trupp-shell-<build version>`. Navigations go to the network
 *      first and fall back to the cached index.html; hashed assets come from the cache.
 *    - Basemap: PMTiles archives are read with HTTP range requests, and Cache Storage
 *      refuses partial (206) responses. Every range answer is kept as a 200 under
 *      `<url>?bytes=<start>-<end>` (the newest MAX_RANGES of them) and served as a 206
 *      when the network fails, so a street-map extract works offline where it was viewed. The embedded world map is
 *      also fetched whole once; from then on its range requests are answered by slicing
 *      it (proper 206 responses with Content-Range), so all of it works offline.
 *      Style and glyphs are cached as well.
 *    - Positions and the open alarms the map shows (OFFLINE_DATA_PATHS): network first,
 *      the last answer when offline. They belong to the signed-in user: the page deletes
 *      every `trupp-data-*` cache on sign-out, and a remote wipe deletes all caches.
 *    Caches are versioned; `activate` deletes every `trupp-*` cache not in use. */

const CACHE_VERSION = 'v1';
const MAP_CACHE = `trupp-map-${CACHE_VERSION}`;
/** Range answers of archives, each under `<url>?bytes=<start>-<end>`. */
const RANGE_CACHE = `trupp-ranges-${CACHE_VERSION}`;
/** Viewed tiles of an extract are some 10–100 kB each: keep the newest few thousand. */
const MAX_RANGES = 4000;
const DATA_CACHE = `trupp-data-${CACHE_VERSION}`;
const SHELL_PREFIX = `trupp-shell-${CACHE_VERSION}-`;
/**
 * The embedded world map (about 2 MB) is cached whole, so all of it works offline; a
 * street-map extract (hundreds of MB for a county or state) only where it was viewed.
 * The limit guards against an embedded archive built far larger than ours.
 */
const WHOLE_ARCHIVE_PATHS = new Set(['/tiles/basemap.pmtiles']);
const WHOLE_ARCHIVE_LIMIT = 48 * 1024 * 1024;
/** What the map shows of the organisation, kept for offline use (network first). */
const OFFLINE_DATA_PATHS = new Set(['/api/positions', '/api/positions/map', '/api/alarms']);

/* ---------------------------------------------------------------- Web Push ---- */

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

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  if (data.type === 'alarm' && typeof data.id === 'string') event.waitUntil(showAlarm(data.id));
  if (data.type === 'chat' && typeof data.id === 'string') event.waitUntil(showChat(data.id));
});

/**
 * A chat push carries only the conversation's opaque id: the message is end-to-end
 * encrypted and only the open app can read it. Nothing is shown while the app is visible.
 */
async function showChat(id) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  if (windows.some((w) => w.visibilityState === 'visible')) return;
  const de = (self.navigator.language || '').toLowerCase().startsWith('de');
  await self.registration.showNotification(de ? 'Neue Nachricht' : 'New message', {
    body: de ? 'Öffne Trupp, um sie zu lesen.' : 'Open Trupp to read it.',
    tag: `chat-${id}`,
    data: { chat: id },
  });
}

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
  const chat = event.notification.data && event.notification.data.chat;
  if (chat) {
    event.waitUntil(self.clients.openWindow(`/chat/${encodeURIComponent(chat)}`));
    return;
  }
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

/* ----------------------------------------------------------------- App shell ---- */

/** The shell cache currently in use (null until one was filled). */
let shellCache = null;
let shellRefresh = null;

async function currentShellCache() {
  if (shellCache) return shellCache;
  const names = (await caches.keys()).filter((name) => name.startsWith(SHELL_PREFIX));
  shellCache = names.length > 0 ? names[names.length - 1] : null;
  return shellCache;
}

/**
 * Caches the shell of the build the server has now, if not cached yet, then drops the
 * shells of older builds. Never throws: without a manifest (development server, or
 * offline) the shell is cached as it is used.
 */
function refreshShell() {
  shellRefresh ??= (async () => {
    try {
      const response = await fetch('/precache.json', { cache: 'no-cache' });
      if (!response.ok) return;
      const manifest = await response.json();
      if (typeof manifest.version !== 'string' || !Array.isArray(manifest.files)) return;
      const name = `${SHELL_PREFIX}${manifest.version}`;
      if (!(await caches.has(name))) {
        const cache = await caches.open(name);
        await cache.addAll(['/', ...manifest.files]);
      }
      shellCache = name;
      for (const old of await caches.keys()) {
        if (old.startsWith(SHELL_PREFIX) && old !== name) await caches.delete(old);
      }
    } catch {
      // Offline or a file vanished mid-deploy: try again on the next navigation.
    } finally {
      shellRefresh = null;
    }
  })();
  return shellRefresh;
}

async function navigation(event) {
  try {
    const response = await fetch(event.request);
    const html = (response.headers.get('content-type') || '').startsWith('text/html');
    if (response.ok && html) {
      const name = await currentShellCache();
      if (name) {
        const copy = response.clone();
        event.waitUntil(caches.open(name).then((cache) => cache.put('/', copy)));
      }
      event.waitUntil(refreshShell());
    }
    return response;
  } catch (error) {
    // Every app route is the same index.html; the router takes it from there.
    const cached = await caches.match('/', { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

/** Hashed build output never changes under its name: cache first. */
async function asset(event) {
  const cached = await caches.match(event.request);
  if (cached) return cached;
  const response = await fetch(event.request);
  const name = await currentShellCache();
  if (response.ok && name) {
    const copy = response.clone();
    event.waitUntil(caches.open(name).then((cache) => cache.put(event.request, copy)));
  }
  return response;
}

/* ------------------------------------------------------------ Basemap archive ---- */

/** Keeps the newest `max` entries of a cache (keys come in insertion order). */
async function trim(cache, max) {
  if (!Number.isFinite(max)) return;
  const keys = await cache.keys();
  for (const key of keys.slice(0, Math.max(0, keys.length - max))) await cache.delete(key);
}

let rangesPut = 0;
/** Listing thousands of keys is not free: trim the range copies every hundredth answer. */
function trimRangesNowAndThen(cache) {
  rangesPut += 1;
  return rangesPut % 100 === 0 ? trim(cache, MAX_RANGES) : Promise.resolve();
}

const downloading = new Set();
const revalidated = new Set();

/** `bytes=a-b` or `bytes=a-` → { start, end|null }; anything else null. */
function parseRange(header) {
  const match = /^bytes=(\d+)-(\d*)$/.exec((header || '').trim());
  if (!match) return null;
  return { start: Number(match[1]), end: match[2] === '' ? null : Number(match[2]) };
}

function totalFromContentRange(header) {
  const match = /\/(\d+)$/.exec(header || '');
  return match ? Number(match[1]) : null;
}

/** The whole archive from Cache Storage; its blob is read from disk slice by slice. */
async function wholeArchive(url) {
  const response = await (await caches.open(MAP_CACHE)).match(url);
  if (!response) return null;
  return {
    blob: await response.blob(),
    etag: response.headers.get('etag'),
    type: response.headers.get('content-type') || 'application/vnd.pmtiles',
  };
}

function sliceResponse(entry, range) {
  const size = entry.blob.size;
  if (range.start >= size) {
    return new Response(null, { status: 416, headers: { 'content-range': `bytes */${size}` } });
  }
  const end = Math.min(range.end === null ? size - 1 : range.end, size - 1);
  const headers = {
    'content-type': entry.type,
    'content-length': String(end - range.start + 1),
    'content-range': `bytes ${range.start}-${end}/${size}`,
    'accept-ranges': 'bytes',
  };
  if (entry.etag) headers.etag = entry.etag;
  return new Response(entry.blob.slice(range.start, end + 1), { status: 206, headers });
}

/**
 * Fetches a small archive whole into the cache. Range copies of the same version stay
 * (they are only what was viewed); those of an older version go.
 */
function downloadWhole(url) {
  if (downloading.has(url)) return Promise.resolve();
  downloading.add(url);
  return (async () => {
    try {
      const response = await fetch(url, { cache: 'no-store' });
      if (response.status !== 200) return;
      const etag = response.headers.get('etag') || '';
      await (await caches.open(MAP_CACHE)).put(url, response);
      const ranges = await caches.open(RANGE_CACHE);
      for (const key of await ranges.keys()) {
        if (!key.url.startsWith(`${url}?bytes=`)) continue;
        const copy = await ranges.match(key);
        if (!copy || copy.headers.get('etag') !== etag) await ranges.delete(key);
      }
    } catch {
      // Offline: the range copies serve meanwhile; next time online we try again.
    } finally {
      downloading.delete(url);
    }
  })();
}

/** Once per worker start and archive: has the server a different archive now? */
function revalidateWhole(url, entry) {
  if (revalidated.has(url)) return Promise.resolve();
  revalidated.add(url);
  return (async () => {
    try {
      const head = await fetch(url, { method: 'HEAD', cache: 'no-store' });
      const etag = head.headers.get('etag');
      if (head.ok && etag && etag !== entry.etag) await downloadWhole(url);
    } catch {
      // Offline: keep serving what we have.
    }
  })();
}

async function pmtiles(event) {
  const url = event.request.url.split('?')[0];
  const range = parseRange(event.request.headers.get('range'));
  const whole = await wholeArchive(url);
  if (whole && range) {
    event.waitUntil(revalidateWhole(url, whole));
    return sliceResponse(whole, range);
  }
  const cache = await caches.open(range ? RANGE_CACHE : MAP_CACHE);
  const key = range ? `${url}?bytes=${range.start}-${range.end === null ? '' : range.end}` : url;
  try {
    const response = await fetch(event.request);
    if (response.status === 206) {
      // Cache Storage takes no 206: keep the bytes and headers as a 200 under our own key.
      const copy = response.clone();
      event.waitUntil(
        copy
          .arrayBuffer()
          .then((body) =>
            cache.put(
              key,
              new Response(body, {
                headers: {
                  'content-type': copy.headers.get('content-type') || 'application/vnd.pmtiles',
                  'content-range': copy.headers.get('content-range') || '',
                  etag: copy.headers.get('etag') || '',
                },
              }),
            ),
          )
          .then(() => trimRangesNowAndThen(cache)),
      );
      const total = totalFromContentRange(response.headers.get('content-range'));
      const small = total !== null && total <= WHOLE_ARCHIVE_LIMIT;
      if (small && WHOLE_ARCHIVE_PATHS.has(new URL(url).pathname)) {
        event.waitUntil(downloadWhole(url));
      }
    }
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (!cached) throw error;
    if (!range) return cached;
    const body = await cached.arrayBuffer();
    const headers = new Headers(cached.headers);
    if (!headers.get('etag')) headers.delete('etag');
    headers.set('content-length', String(body.byteLength));
    return new Response(body, { status: 206, headers });
  }
}

/* ------------------------------------------------- Style, glyphs, positions ---- */

/** Network first, the cached copy when offline; at most `max` answers kept. */
async function networkFirst(event, cacheName, max) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(event.request);
    if (response.ok) {
      const copy = response.clone();
      // Deleted first so the refreshed answer counts as the newest.
      event.waitUntil(
        cache
          .delete(event.request.url)
          .then(() => cache.put(event.request.url, copy))
          .then(() => trim(cache, max)),
      );
    }
    return response;
  } catch (error) {
    const cached = await cache.match(event.request.url, { ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
}

/** Glyphs change only with a new font build: answer from the cache, refresh behind. */
async function staleWhileRevalidate(event, cacheName) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(event.request.url);
  const refresh = fetch(event.request).then((response) => {
    if (response.ok) return cache.put(event.request.url, response.clone()).then(() => response);
    return response;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => undefined));
    return cached;
  }
  return refresh;
}

/* --------------------------------------------------------------- Lifecycle ---- */

self.addEventListener('install', (event) => {
  event.waitUntil(refreshShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const keep = new Set([MAP_CACHE, RANGE_CACHE, DATA_CACHE, await currentShellCache()]);
      for (const name of await caches.keys()) {
        if (name.startsWith('trupp-') && !keep.has(name)) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(navigation(event));
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(asset(event));
  } else if (url.pathname.startsWith('/tiles/') && url.pathname.endsWith('.pmtiles')) {
    event.respondWith(pmtiles(event));
  } else if (url.pathname === '/maps/style.json') {
    event.respondWith(networkFirst(event, MAP_CACHE, Infinity));
  } else if (url.pathname.startsWith('/maps/fonts/')) {
    event.respondWith(staleWhileRevalidate(event, MAP_CACHE));
  } else if (OFFLINE_DATA_PATHS.has(url.pathname)) {
    event.respondWith(networkFirst(event, DATA_CACHE, 20));
  }
});
