/**
 * Geofences and overlay layers of the map: the tenant's areas (drawn, edited and deleted
 * by dispatch and leads), who is inside which area now (with the area's status text),
 * the live feed of enter/exit events, and the GeoJSON layers with this device's choice
 * of which to show. Kept live from the socket while the map is open.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import {
  GEOFENCE_SERVER_EVENTS,
  type Geofence,
  type GeofenceCrossing,
  type GeofencePresence,
  type OverlayLayer,
} from '@trupp/shared';
import * as api from '../api/geofences.ts';
import type { GeofenceBody, OverlayUpload } from '../api/geofences.ts';
import { isConnected, onConnected, onServerEvent } from '../realtime/socket.ts';

/** Most events the feed keeps. */
export const FEED_LENGTH = 50;
const HIDDEN_KEY = 'trupp.map.overlaysShown';

export interface FeedEntry extends GeofenceCrossing {
  /** Unique per entry in this feed (the same crossing may be announced only once). */
  key: string;
  entered: boolean;
}

function storedChoices(): Record<string, boolean> {
  try {
    return JSON.parse(window.localStorage.getItem(HIDDEN_KEY) ?? '{}') as Record<string, boolean>;
  } catch {
    return {};
  }
}

export const useGeofenceStore = defineStore('geofences', () => {
  const geofences = shallowRef<readonly Geofence[]>([]);
  const presence = shallowRef<readonly GeofencePresence[]>([]);
  const feed = shallowRef<readonly FeedEntry[]>([]);
  const overlays = shallowRef<readonly OverlayLayer[]>([]);
  /** Overlay id → shown, as chosen on this device (else the layer's default). */
  const overlayChoice = ref<Record<string, boolean>>(storedChoices());
  const loadError = ref<unknown>(null);
  const uploadProgress = ref<number | null>(null);
  let seq = 0;

  const insideByFence = computed(() => {
    const out = new Map<string, GeofencePresence[]>();
    for (const p of presence.value) out.set(p.geofenceId, [...(out.get(p.geofenceId) ?? []), p]);
    return out;
  });

  /** Status texts of a member from the areas they are in (for badges on the map and board). */
  const statusByMember = computed(() => {
    const out = new Map<string, string[]>();
    for (const p of presence.value) {
      if (p.statusText) out.set(p.userId, [...(out.get(p.userId) ?? []), p.statusText]);
    }
    return out;
  });

  function overlayShown(layer: OverlayLayer): boolean {
    return overlayChoice.value[layer.id] ?? layer.visibleByDefault;
  }

  function showOverlay(overlayId: string, shown: boolean): void {
    overlayChoice.value = { ...overlayChoice.value, [overlayId]: shown };
    try {
      window.localStorage.setItem(HIDDEN_KEY, JSON.stringify(overlayChoice.value));
    } catch {
      // Storage disabled: the choice lasts for this visit.
    }
  }

  async function loadGeofences(): Promise<void> {
    geofences.value = await api.listGeofences();
  }
  async function loadPresence(withPresence: boolean): Promise<void> {
    presence.value = withPresence ? await api.listPresence() : [];
  }
  async function loadOverlays(): Promise<void> {
    overlays.value = await api.listOverlays();
  }

  function receive(crossing: GeofenceCrossing, entered: boolean): void {
    seq += 1;
    feed.value = [{ ...crossing, entered, key: `${seq}` }, ...feed.value].slice(0, FEED_LENGTH);
    const others = presence.value.filter(
      (p) => !(p.userId === crossing.userId && p.geofenceId === crossing.geofenceId),
    );
    presence.value = entered
      ? [
          ...others,
          {
            geofenceId: crossing.geofenceId,
            userId: crossing.userId,
            displayName: crossing.displayName,
            since: crossing.at,
            statusText: crossing.statusText,
          },
        ]
      : others;
  }

  let stopFns: Array<() => void> = [];
  /**
   * Loads everything and follows the socket. `withPresence` (dispatch, leads) also loads
   * who is inside and the enter/exit feed. Call `stop` when the map closes.
   */
  function start(withPresence: boolean): void {
    stop();
    const reload = () => {
      loadError.value = null;
      void Promise.all([loadGeofences(), loadOverlays(), loadPresence(withPresence)]).catch(
        (error: unknown) => (loadError.value = error),
      );
    };
    stopFns = [
      onServerEvent<Record<string, never>>(GEOFENCE_SERVER_EVENTS.changed, () => {
        void Promise.all([loadGeofences(), loadPresence(withPresence)]).catch(() => undefined);
      }),
      onServerEvent<Record<string, never>>(GEOFENCE_SERVER_EVENTS.overlaysChanged, () => {
        void loadOverlays().catch(() => undefined);
      }),
      onConnected(reload),
    ];
    if (withPresence) {
      stopFns.push(
        onServerEvent<GeofenceCrossing>(GEOFENCE_SERVER_EVENTS.entered, (c) => receive(c, true)),
        onServerEvent<GeofenceCrossing>(GEOFENCE_SERVER_EVENTS.exited, (c) => receive(c, false)),
      );
    }
    // onConnected runs at once when the socket is up; otherwise load over HTTP now.
    if (!isConnected()) reload();
  }

  function stop(): void {
    stopFns.forEach((off) => off());
    stopFns = [];
  }

  async function save(geofenceId: string | null, body: GeofenceBody): Promise<Geofence> {
    const saved = geofenceId
      ? await api.updateGeofence(geofenceId, body)
      : await api.createGeofence(body);
    geofences.value = [...geofences.value.filter((g) => g.id !== saved.id), saved].sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    return saved;
  }

  async function remove(geofenceId: string): Promise<void> {
    await api.deleteGeofence(geofenceId);
    geofences.value = geofences.value.filter((g) => g.id !== geofenceId);
    presence.value = presence.value.filter((p) => p.geofenceId !== geofenceId);
  }

  async function upload(file: Blob, meta: OverlayUpload): Promise<OverlayLayer> {
    uploadProgress.value = 0;
    try {
      const layer = await api.uploadOverlay(file, meta, (f) => (uploadProgress.value = f));
      overlays.value = [...overlays.value.filter((l) => l.id !== layer.id), layer].sort((a, b) =>
        a.name.localeCompare(b.name),
      );
      return layer;
    } finally {
      uploadProgress.value = null;
    }
  }

  async function removeOverlay(overlayId: string): Promise<void> {
    await api.deleteOverlay(overlayId);
    overlays.value = overlays.value.filter((l) => l.id !== overlayId);
  }

  return {
    geofences,
    presence,
    feed,
    overlays,
    overlayChoice,
    loadError,
    uploadProgress,
    insideByFence,
    statusByMember,
    overlayShown,
    showOverlay,
    start,
    stop,
    save,
    remove,
    upload,
    removeOverlay,
    overlayGeoJson: api.overlayGeoJson,
  };
});
