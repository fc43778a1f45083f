import type { Feature, FeatureCollection, Polygon } from 'geojson';
import {
  Marker,
  type GeoJSONSource,
  type MapLayerMouseEvent,
  type Map as MapLibreMap,
} from 'maplibre-gl';
import type { Geofence, GeofenceGeometry, GeofenceKind } from '@trupp/shared';
import { circleRing, firstAppLayer } from './draw.ts';
import { onStyleReady } from './style-ready.ts';

/** Fill and border colour per kind: station green, danger red, operation orange, other violet. */
export const GEOFENCE_COLOURS: Readonly<Record<GeofenceKind, string>> = {
  station: '#2e7d32',
  danger: '#c62828',
  operation: '#ef6c00',
  other: '#6a1b9a',
};

export const GEOFENCE_LAYERS = { fill: 'geofences-fill', line: 'geofences-line' } as const;
const SOURCE = 'geofences';

/** The polygon ring a geofence is drawn with (circles as 64 corners). */
export function geofenceRing(geometry: GeofenceGeometry): Array<[number, number]> {
  return geometry.kind === 'circle' ? circleRing(geometry, geometry.radiusM) : geometry.ring;
}

/** Where a geofence's name goes: the circle's centre, else the mean of its corners. */
export function labelPoint(geometry: GeofenceGeometry): { lat: number; lon: number } {
  if (geometry.kind === 'circle') return { lat: geometry.lat, lon: geometry.lon };
  const corners = geometry.ring.slice(0, -1);
  const sum = corners.reduce((acc, [lon, lat]) => [acc[0] + lon, acc[1] + lat], [0, 0]);
  return { lon: sum[0] / corners.length, lat: sum[1] / corners.length };
}

export function geofenceFeatures(
  list: readonly Geofence[],
  selectedId: string | null,
): FeatureCollection<Polygon> {
  return {
    type: 'FeatureCollection',
    features: list.map((g): Feature<Polygon> => ({
      type: 'Feature',
      properties: {
        geofenceId: g.id,
        name: g.name,
        kind: g.kind,
        colour: GEOFENCE_COLOURS[g.kind],
        selected: g.id === selectedId,
      },
      geometry: { type: 'Polygon', coordinates: [geofenceRing(g.geometry)] },
    })),
  };
}

export interface GeofenceLayer {
  setGeofences(list: readonly Geofence[]): void;
  setSelected(id: string | null): void;
  /** While drawing, clicks on areas do not select them. */
  setClickable(on: boolean): void;
  destroy(): void;
}

/**
 * The tenant's geofences as translucent filled areas in their kind's colour, with their
 * names (HTML labels, so no glyphs are needed), underneath members and incidents. A click
 * on an area (where no member or incident is on top) selects it.
 */
export function geofenceLayer(
  map: MapLibreMap,
  handlers: { onSelect(geofenceId: string): void },
): GeofenceLayer {
  let list: readonly Geofence[] = [];
  let selected: string | null = null;
  let clickable = true;
  const labels = new Map<string, Marker>();
  const data = () => geofenceFeatures(list, selected);

  onStyleReady(map, () => {
    if (map.getSource(SOURCE)) return;
    map.addSource(SOURCE, { type: 'geojson', data: data() });
    const before = firstAppLayer(
      map,
      (id) => id.startsWith('geofences') || id.startsWith('overlay-'),
    );
    map.addLayer(
      {
        id: GEOFENCE_LAYERS.fill,
        type: 'fill',
        source: SOURCE,
        paint: {
          'fill-color': ['get', 'colour'],
          'fill-opacity': ['case', ['get', 'selected'], 0.32, 0.16],
        },
      },
      before,
    );
    map.addLayer(
      {
        id: GEOFENCE_LAYERS.line,
        type: 'line',
        source: SOURCE,
        paint: {
          'line-color': ['get', 'colour'],
          'line-width': ['case', ['get', 'selected'], 4, 2],
        },
      },
      before,
    );
  });

  const onClick = (event: MapLayerMouseEvent) => {
    if (!clickable) return;
    const top = map.queryRenderedFeatures(event.point)[0];
    if (top && top.layer.id !== GEOFENCE_LAYERS.fill && top.layer.id !== GEOFENCE_LAYERS.line) {
      return;
    }
    const id = event.features?.[0]?.properties.geofenceId as string | undefined;
    if (id) handlers.onSelect(id);
  };
  map.on('click', GEOFENCE_LAYERS.fill, onClick);

  function refreshLabels(): void {
    const seen = new Set<string>();
    for (const g of list) {
      seen.add(g.id);
      const at = labelPoint(g.geometry);
      let marker = labels.get(g.id);
      if (!marker) {
        const element = document.createElement('div');
        element.dataset.testid = 'geofence-label';
        Object.assign(element.style, {
          padding: '1px 6px',
          borderRadius: '4px',
          background: 'rgba(255,255,255,0.85)',
          fontSize: '12px',
          fontWeight: '600',
          pointerEvents: 'none',
          whiteSpace: 'nowrap',
        });
        marker = new Marker({ element, anchor: 'center' }).setLngLat([at.lon, at.lat]).addTo(map);
        labels.set(g.id, marker);
      }
      const element = marker.getElement();
      element.textContent = g.name;
      element.dataset.geofence = g.id;
      element.style.color = GEOFENCE_COLOURS[g.kind];
      element.style.border = `1px solid ${GEOFENCE_COLOURS[g.kind]}`;
      marker.setLngLat([at.lon, at.lat]);
    }
    for (const [id, marker] of labels) {
      if (seen.has(id)) continue;
      marker.remove();
      labels.delete(id);
    }
  }

  function redraw(): void {
    (map.getSource(SOURCE) as GeoJSONSource | undefined)?.setData(data());
  }

  return {
    setGeofences(next) {
      list = next;
      redraw();
      refreshLabels();
    },
    setSelected(id) {
      selected = id;
      redraw();
    },
    setClickable(on) {
      clickable = on;
    },
    destroy() {
      map.off('click', GEOFENCE_LAYERS.fill, onClick);
      for (const marker of labels.values()) marker.remove();
      labels.clear();
    },
  };
}
