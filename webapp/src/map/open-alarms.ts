import type { FeatureCollection, Point } from 'geojson';
import type { GeoJSONSource, MapLayerMouseEvent, Map as MapLibreMap } from 'maplibre-gl';
import { installLabelImages, labelImageId, labelsInUse } from './label-images.ts';
import { onStyleReady } from './style-ready.ts';

/** An open alarm with an incident location, as the map marks it. */
export interface IncidentOnMap {
  id: string;
  keyword: string;
  title: string;
  lat: number;
  lon: number;
  isTest: boolean;
}

export const INCIDENT_LAYERS = { dot: 'incidents-dot', label: 'incidents-label' } as const;

/** Incident markers of the open alarms (red; test alarms yellow), above the members. */
export function incidentLayer(
  map: MapLibreMap,
  handlers: { onSelect(alarmId: string): void },
): { setIncidents(list: readonly IncidentOnMap[]): void } {
  installLabelImages(map);
  const SOURCE = 'incidents';
  let data: FeatureCollection<Point> = { type: 'FeatureCollection', features: [] };
  onStyleReady(map, () => {
    if (map.getSource(SOURCE)) return;
    map.addSource(SOURCE, { type: 'geojson', data });
    map.addLayer({
      id: INCIDENT_LAYERS.dot,
      type: 'circle',
      source: SOURCE,
      paint: {
        'circle-radius': 13,
        'circle-color': ['case', ['get', 'isTest'], '#fbc02d', '#c62828'],
        'circle-stroke-color': '#fff',
        'circle-stroke-width': 4,
      },
    });
    map.addLayer({
      id: INCIDENT_LAYERS.label,
      type: 'symbol',
      source: SOURCE,
      layout: {
        'icon-image': ['get', 'labelImage'],
        'icon-anchor': 'left',
        'icon-offset': [18, 0],
        'icon-allow-overlap': true,
      },
    });
  });
  map.on('click', INCIDENT_LAYERS.dot, (event: MapLayerMouseEvent) => {
    const id = event.features?.[0]?.properties.alarmId as string | undefined;
    if (id) handlers.onSelect(id);
  });
  map.on('mouseenter', INCIDENT_LAYERS.dot, () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', INCIDENT_LAYERS.dot, () => (map.getCanvas().style.cursor = ''));
  return {
    setIncidents(list) {
      data = {
        type: 'FeatureCollection',
        features: list.map((a) => ({
          type: 'Feature',
          properties: {
            alarmId: a.id,
            isTest: a.isTest,
            labelImage: labelImageId('alarm', a.title ? [a.keyword, a.title] : [a.keyword]),
          },
          geometry: { type: 'Point', coordinates: [a.lon, a.lat] },
        })),
      };
      (map.getSource(SOURCE) as GeoJSONSource | undefined)?.setData(data);
      labelsInUse(
        map,
        SOURCE,
        data.features.map((f) => String(f.properties?.labelImage)),
      );
    },
  };
}
