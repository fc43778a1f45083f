/**
 * Geofences (areas drawn on the map per tenant) and overlay layers (GeoJSON uploaded by
 * admins). The backend tracks for every member whether their last fix is inside each
 * geofence and tells dispatch when they cross a border; an alarm can target everyone
 * inside a geofence.
 */
export const GEOFENCE_KINDS = ['station', 'danger', 'operation', 'other'] as const;
export type GeofenceKind = (typeof GEOFENCE_KINDS)[number];

/** A circle (centre and radius in metres) or a closed polygon ring of [lon, lat] pairs. */
export type GeofenceGeometry =
  | { kind: 'circle'; lat: number; lon: number; radiusM: number }
  | { kind: 'polygon'; ring: Array<[number, number]> };

/** Most corners a geofence polygon may have (the ring's closing point included). */
export const GEOFENCE_MAX_VERTICES = 500;
export const GEOFENCE_MAX_RADIUS_M = 50_000;
export const GEOFENCE_MIN_RADIUS_M = 10;
/** Most geofences one organisation may have. */
export const GEOFENCE_MAX_PER_TENANT = 500;

export interface Geofence {
  id: string;
  name: string;
  kind: GeofenceKind;
  geometry: GeofenceGeometry;
  /** Status a member gets while inside (e.g. "An der Wache"); null = none. */
  statusText: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A member inside a geofence right now, as dispatch sees it. */
export interface GeofencePresence {
  geofenceId: string;
  userId: string;
  displayName: string;
  since: string;
  /** The geofence's status rule text, or null. */
  statusText: string | null;
}

/** `geofence.entered` / `geofence.exited`, once per crossing, to dispatch and leads. */
export interface GeofenceCrossing {
  geofenceId: string;
  geofenceName: string;
  kind: GeofenceKind;
  userId: string;
  displayName: string;
  /** When the deciding fix was measured. */
  at: string;
  /** The status text set on enter (or cleared on exit), or null. */
  statusText: string | null;
}

export const GEOFENCE_SERVER_EVENTS = {
  entered: 'geofence.entered',
  exited: 'geofence.exited',
  /** The tenant's geofences changed (created, edited, deleted): reload the list. */
  changed: 'geofence.changed',
  /** The tenant's overlay layers changed: reload the list. */
  overlaysChanged: 'overlay.changed',
} as const;

/** Largest overlay GeoJSON (serialised) and most features in one overlay. */
export const OVERLAY_MAX_BYTES = 2 * 1024 * 1024;
export const OVERLAY_MAX_FEATURES = 10_000;
/** Most overlay layers one organisation may have. */
export const OVERLAY_MAX_PER_TENANT = 50;

export interface OverlayLayer {
  id: string;
  name: string;
  /** "#rrggbb" or null for the default colour. */
  color: string | null;
  visibleByDefault: boolean;
  featureCount: number;
  sizeBytes: number;
  createdAt: string;
}
