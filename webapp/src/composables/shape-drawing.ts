import { computed, ref } from 'vue';
import type { GeofenceGeometry } from '@trupp/shared';
import { circleRing, distanceM } from '../map/draw.ts';

export type DrawMode = 'polygon' | 'circle';

/** A circle drawn by a click on its centre gets this radius until a second click sets it. */
export const DEFAULT_RADIUS_M = 200;

/**
 * Drawing a geofence by clicks on a map, as the dispatch console draws alarm areas:
 * polygon — every click adds a corner; circle — the first click sets the centre, the next
 * one the radius (also typed in metres). `geometry` is what would be saved; `preview` the
 * ring to draw meanwhile.
 */
export function useShapeDrawing() {
  const mode = ref<DrawMode | null>(null);
  const corners = ref<Array<[number, number]>>([]);
  const centre = ref<{ lat: number; lon: number } | null>(null);
  const radiusM = ref(DEFAULT_RADIUS_M);
  /** The circle's radius was set (by a second click or typed): further clicks move the centre. */
  let radiusSet = false;

  function start(next: DrawMode): void {
    mode.value = next;
    corners.value = [];
    centre.value = null;
    radiusSet = false;
  }

  function stop(): void {
    mode.value = null;
  }

  /** Loads an existing shape to be changed. */
  function load(geometry: GeofenceGeometry | null): void {
    mode.value = null;
    if (!geometry) {
      corners.value = [];
      centre.value = null;
    } else if (geometry.kind === 'circle') {
      corners.value = [];
      centre.value = { lat: geometry.lat, lon: geometry.lon };
      radiusM.value = geometry.radiusM;
    } else {
      centre.value = null;
      corners.value = geometry.ring.slice(0, -1);
    }
  }

  function click(at: { lat: number; lon: number }): void {
    if (mode.value === 'polygon') {
      corners.value = [...corners.value, [at.lon, at.lat]];
    } else if (mode.value === 'circle') {
      if (!centre.value || radiusSet) {
        centre.value = at;
        radiusSet = false;
      } else {
        radiusM.value = Math.max(10, Math.round(distanceM(centre.value, at)));
        radiusSet = true;
      }
    }
  }

  function setRadius(metres: number): void {
    if (Number.isFinite(metres) && metres > 0) {
      radiusM.value = Math.round(metres);
      radiusSet = true;
    }
  }

  function undo(): void {
    corners.value = corners.value.slice(0, -1);
  }

  const geometry = computed<GeofenceGeometry | null>(() => {
    if (centre.value) {
      return {
        kind: 'circle',
        lat: centre.value.lat,
        lon: centre.value.lon,
        radiusM: radiusM.value,
      };
    }
    if (corners.value.length >= 3) {
      return { kind: 'polygon', ring: [...corners.value, corners.value[0]!] };
    }
    return null;
  });

  /** Open ring to draw (the drawer closes it). */
  const preview = computed<Array<[number, number]> | null>(() => {
    if (centre.value) return circleRing(centre.value, radiusM.value).slice(0, -1);
    return corners.value.length ? corners.value : null;
  });

  return {
    mode,
    corners,
    centre,
    radiusM,
    start,
    stop,
    load,
    click,
    setRadius,
    undo,
    geometry,
    preview,
  };
}
