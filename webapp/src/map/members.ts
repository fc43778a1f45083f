import type { Feature, FeatureCollection, Point } from 'geojson';
import type {
  ExpressionSpecification,
  GeoJSONSource,
  MapLayerMouseEvent,
  Map as MapLibreMap,
} from 'maplibre-gl';
import type { MapMember } from '../api/positions.ts';
import {
  ARROW_IMAGE,
  CLUSTER_COUNT_IMAGE,
  installLabelImages,
  labelImageId,
  labelsInUse,
} from './label-images.ts';
import { onStyleReady } from './style-ready.ts';

/**
 * Members on the dispatch map as MapLibre layers over one clustered GeoJSON source (not
 * DOM markers, so a thousand members pan and zoom smoothly): a dot coloured by status,
 * an accuracy circle to scale, a heading arrow, a label with name, unit and fix age, and
 * count bubbles where members cluster when zoomed out.
 */

/** What a marker's colour says, answers to an open alarm first. */
export const MEMBER_STATUSES = [
  'coming',
  'later',
  'not_coming',
  'no_answer',
  'available',
  'limited',
  'unavailable',
] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

/** Response colours as on the alarm board; availability in its own hues. */
export const STATUS_COLOURS: Readonly<Record<MemberStatus, string>> = {
  coming: '#2e7d32',
  later: '#ef6c00',
  not_coming: '#757575',
  no_answer: '#6a1b9a',
  available: '#1565c0',
  limited: '#f9a825',
  unavailable: '#37474f',
};

/** The answer to the member's open alarm (none yet: `no_answer`), else their availability. */
export function memberStatus(member: Pick<MapMember, 'alarm' | 'availability'>): MemberStatus {
  if (member.alarm) return member.alarm.response ?? 'no_answer';
  return member.availability;
}

export interface FixAge {
  n: number;
  unit: 's' | 'min' | 'h';
}

/** How old a fix is, in the largest whole unit (never negative for a device clock ahead). */
export function fixAge(recordedAt: string, now: number): FixAge {
  const seconds = Math.max(0, Math.floor((now - Date.parse(recordedAt)) / 1000));
  if (seconds < 60) return { n: seconds, unit: 's' };
  if (seconds < 3600) return { n: Math.floor(seconds / 60), unit: 'min' };
  return { n: Math.floor(seconds / 3600), unit: 'h' };
}

/** A fix older than this is drawn faded: the member may be somewhere else by now. */
export const STALE_AFTER_MS = 5 * 60_000;

/** Equatorial circumference in metres (WGS 84), as web mercator uses it. */
const EARTH_CIRCUMFERENCE_M = 40_075_016.686;
/** MapLibre renders the world 512 pixels wide at zoom 0. */
const WORLD_PX_AT_ZOOM_0 = 512;

/** Metres on the ground as screen pixels at zoom 0 at this latitude (×2 per zoom level). */
export function metresToPixelsAtZoom0(metres: number, lat: number): number {
  const metresPerPixel =
    (EARTH_CIRCUMFERENCE_M * Math.cos((lat * Math.PI) / 180)) / WORLD_PX_AT_ZOOM_0;
  return metres / metresPerPixel;
}

/** circle-radius: the accuracy in metres at every zoom (doubles per level). */
export const ACCURACY_RADIUS: ExpressionSpecification = [
  'interpolate',
  ['exponential', 2],
  ['zoom'],
  0,
  ['get', 'accPx0'],
  24,
  ['*', ['get', 'accPx0'], 2 ** 24],
];

const colourByStatus: ExpressionSpecification = [
  'match',
  ['get', 'status'],
  ...MEMBER_STATUSES.flatMap((s) => [s, STATUS_COLOURS[s]]),
  '#1565c0',
] as unknown as ExpressionSpecification;

export interface MemberFeatureProps {
  userId: string;
  status: MemberStatus;
  /** Placement priority of the label: people coming first. */
  rank: number;
  /** Heading in degrees, -1 when unknown. */
  heading: number;
  accPx0: number;
  stale: boolean;
  labelImage: string;
}

/**
 * The GeoJSON the member layers draw. `label` gives the lines of a member's label
 * (e.g. name, then unit · age), in the user's language.
 */
export function memberFeatures(
  members: Iterable<MapMember>,
  now: number,
  label: (member: MapMember) => string[],
): FeatureCollection<Point, MemberFeatureProps> {
  const features: Array<Feature<Point, MemberFeatureProps>> = [];
  for (const m of members) {
    const status = memberStatus(m);
    features.push({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [m.lon, m.lat] },
      properties: {
        userId: m.userId,
        status,
        rank: MEMBER_STATUSES.indexOf(status),
        heading: m.heading ?? -1,
        accPx0: metresToPixelsAtZoom0(m.accuracyM, m.lat),
        stale: now - Date.parse(m.recordedAt) > STALE_AFTER_MS,
        labelImage: labelImageId('member', label(m)),
      },
    });
  }
  return { type: 'FeatureCollection', features };
}

export const MEMBER_SOURCE = 'members';
/** Layer ids, for tests and for features that stack their layers relative to ours. */
export const MEMBER_LAYERS = {
  accuracy: 'members-accuracy',
  clusters: 'members-clusters',
  clusterCount: 'members-cluster-count',
  hit: 'members-hit',
  selected: 'members-selected',
  dot: 'members-dot',
  heading: 'members-heading',
  label: 'members-label',
} as const;

export interface MemberLayer {
  setMembers(data: FeatureCollection<Point, MemberFeatureProps>): void;
  /** Ring around the selected member (null: none). */
  setSelected(userId: string | null): void;
  /** Hidden during track replay. */
  setVisible(visible: boolean): void;
}

const unclustered: ExpressionSpecification = ['!', ['has', 'point_count']];

/**
 * Adds the member source and layers (again after a style change) and wires clicks:
 * a cluster zooms in until it falls apart, a member calls `onSelect`.
 */
export function memberLayer(
  map: MapLibreMap,
  handlers: { onSelect(userId: string): void },
): MemberLayer {
  installLabelImages(map);
  let data: FeatureCollection<Point, MemberFeatureProps> = {
    type: 'FeatureCollection',
    features: [],
  };
  let selected: string | null = null;
  let visible = true;
  const selectedFilter = (): ExpressionSpecification => [
    'all',
    unclustered,
    ['==', ['get', 'userId'], selected ?? ''],
  ];

  onStyleReady(map, () => {
    if (map.getSource(MEMBER_SOURCE)) return;
    // Clusters fall apart one level before the closest zoom, so every cluster can be opened.
    const clusterMaxZoom = Math.max(0, Math.min(14, Math.floor(map.getMaxZoom()) - 1));
    map.addSource(MEMBER_SOURCE, {
      type: 'geojson',
      data,
      cluster: true,
      clusterRadius: 45,
      clusterMaxZoom,
      clusterProperties: {
        coming: ['+', ['case', ['==', ['get', 'status'], 'coming'], 1, 0]],
      },
    });
    const visibility = visible ? 'visible' : 'none';
    map.addLayer({
      id: MEMBER_LAYERS.accuracy,
      type: 'circle',
      source: MEMBER_SOURCE,
      filter: unclustered,
      layout: { visibility },
      paint: {
        'circle-radius': ACCURACY_RADIUS,
        'circle-color': colourByStatus,
        'circle-opacity': 0.12,
        'circle-stroke-color': colourByStatus,
        'circle-stroke-width': 1,
        'circle-stroke-opacity': 0.5,
        'circle-pitch-alignment': 'map',
      },
    });
    map.addLayer({
      id: MEMBER_LAYERS.clusters,
      type: 'circle',
      source: MEMBER_SOURCE,
      filter: ['has', 'point_count'],
      layout: { visibility },
      paint: {
        'circle-color': '#263238',
        'circle-radius': ['step', ['get', 'point_count'], 18, 10, 22, 100, 28, 1000, 34],
        // A green ring: someone in this cluster is coming.
        'circle-stroke-color': ['case', ['>', ['get', 'coming'], 0], '#43a047', '#ffffff'],
        'circle-stroke-width': 4,
      },
    });
    map.addLayer({
      id: MEMBER_LAYERS.clusterCount,
      type: 'symbol',
      source: MEMBER_SOURCE,
      filter: ['has', 'point_count'],
      layout: {
        visibility,
        'icon-image': CLUSTER_COUNT_IMAGE as unknown as ExpressionSpecification,
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
      },
    });
    // An invisible, finger-sized target around each dot.
    map.addLayer({
      id: MEMBER_LAYERS.hit,
      type: 'circle',
      source: MEMBER_SOURCE,
      filter: unclustered,
      layout: { visibility },
      paint: { 'circle-radius': 22, 'circle-color': '#000', 'circle-opacity': 0.01 },
    });
    map.addLayer({
      id: MEMBER_LAYERS.selected,
      type: 'circle',
      source: MEMBER_SOURCE,
      filter: selectedFilter(),
      layout: { visibility },
      paint: {
        'circle-radius': 15,
        'circle-color': 'rgba(0,0,0,0)',
        'circle-stroke-color': '#111',
        'circle-stroke-width': 3,
      },
    });
    map.addLayer({
      id: MEMBER_LAYERS.dot,
      type: 'circle',
      source: MEMBER_SOURCE,
      filter: unclustered,
      layout: { visibility },
      paint: {
        'circle-radius': 9,
        'circle-color': colourByStatus,
        'circle-opacity': ['case', ['get', 'stale'], 0.45, 1],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 2.5,
      },
    });
    map.addLayer({
      id: MEMBER_LAYERS.label,
      type: 'symbol',
      source: MEMBER_SOURCE,
      filter: unclustered,
      layout: {
        visibility,
        'icon-image': ['get', 'labelImage'],
        'icon-anchor': 'left',
        // Clear of the dot and of a heading arrow pointing right.
        'icon-offset': [24, 0],
        'icon-padding': 2,
        'symbol-sort-key': ['get', 'rank'],
      },
    });
    map.addLayer({
      id: MEMBER_LAYERS.heading,
      type: 'symbol',
      source: MEMBER_SOURCE,
      filter: ['all', unclustered, ['>=', ['get', 'heading'], 0]],
      layout: {
        visibility,
        'icon-image': ARROW_IMAGE,
        'icon-rotate': ['get', 'heading'],
        'icon-rotation-alignment': 'map',
        // The offset turns with the arrow, so it sits ahead of the dot in the heading; drawn
        // above the labels so a label never hides where someone is going.
        'icon-offset': [0, -17],
        'icon-size': 0.8,
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
      },
    });
  });

  map.on('click', MEMBER_LAYERS.clusters, (event: MapLayerMouseEvent) => {
    const feature = event.features?.[0];
    const source = map.getSource(MEMBER_SOURCE) as GeoJSONSource | undefined;
    if (!feature || !source || feature.geometry.type !== 'Point') return;
    const center = feature.geometry.coordinates as [number, number];
    void source
      .getClusterExpansionZoom(Number(feature.properties.cluster_id))
      .then((zoom) => map.easeTo({ center, zoom: Math.min(zoom, map.getMaxZoom()) }))
      .catch(() => undefined);
  });
  map.on('click', MEMBER_LAYERS.hit, (event: MapLayerMouseEvent) => {
    const userId = event.features?.[0]?.properties.userId as string | undefined;
    if (userId) handlers.onSelect(userId);
  });
  for (const layer of [MEMBER_LAYERS.clusters, MEMBER_LAYERS.hit]) {
    map.on('mouseenter', layer, () => (map.getCanvas().style.cursor = 'pointer'));
    map.on('mouseleave', layer, () => (map.getCanvas().style.cursor = ''));
  }

  return {
    setMembers(next) {
      data = next;
      (map.getSource(MEMBER_SOURCE) as GeoJSONSource | undefined)?.setData(next);
      labelsInUse(
        map,
        MEMBER_SOURCE,
        next.features.map((f) => f.properties.labelImage),
      );
    },
    setSelected(userId) {
      selected = userId;
      if (map.getLayer(MEMBER_LAYERS.selected)) {
        map.setFilter(MEMBER_LAYERS.selected, selectedFilter());
      }
    },
    setVisible(next) {
      visible = next;
      for (const id of Object.values(MEMBER_LAYERS)) {
        if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', next ? 'visible' : 'none');
      }
    },
  };
}
