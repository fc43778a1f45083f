/** Geofences (areas on the map, who is inside) and GeoJSON overlay layers. */
import type {
  ErrorCode,
  Geofence,
  GeofenceGeometry,
  GeofenceKind,
  GeofencePresence,
  OverlayLayer,
} from '@trupp/shared';
import type { FeatureCollection } from 'geojson';
import { ApiError, readStoredSession, refreshSession, request } from './http.ts';

const id = (value: string) => encodeURIComponent(value);

export interface GeofenceBody {
  name: string;
  kind: GeofenceKind;
  geometry: GeofenceGeometry;
  statusText?: string | null;
}

export const listGeofences = (): Promise<Geofence[]> => request('GET', '/api/geofences');

export const listPresence = (): Promise<GeofencePresence[]> =>
  request('GET', '/api/geofences/presence');

export const createGeofence = (body: GeofenceBody): Promise<Geofence> =>
  request('POST', '/api/geofences', { body });

export const updateGeofence = (
  geofenceId: string,
  body: Partial<GeofenceBody>,
): Promise<Geofence> => request('PATCH', `/api/geofences/${id(geofenceId)}`, { body });

export const deleteGeofence = (geofenceId: string): Promise<void> =>
  request('DELETE', `/api/geofences/${id(geofenceId)}`);

export const listOverlays = (): Promise<OverlayLayer[]> => request('GET', '/api/overlays');

export const overlayGeoJson = (overlayId: string): Promise<FeatureCollection> =>
  request('GET', `/api/overlays/${id(overlayId)}/geojson`);

export const deleteOverlay = (overlayId: string): Promise<void> =>
  request('DELETE', `/api/overlays/${id(overlayId)}`);

export interface OverlayUpload {
  name: string;
  color: string | null;
  visible: boolean;
}

function xhrUpload(
  file: Blob,
  meta: OverlayUpload,
  token: string | null,
  onProgress: (fraction: number) => void,
): Promise<{ status: number; body: string }> {
  const query = new URLSearchParams({ name: meta.name, visible: String(meta.visible) });
  if (meta.color) query.set('color', meta.color);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/overlays?${query.toString()}`);
    xhr.setRequestHeader('content-type', 'application/geo+json');
    xhr.setRequestHeader('accept', 'application/json');
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
    xhr.onerror = () => reject(new ApiError('NETWORK_ERROR', 'upload failed', 0));
    xhr.send(file);
  });
}

function toError(status: number, body: string): ApiError {
  try {
    const parsed = JSON.parse(body) as { code?: ErrorCode; message?: string; details?: unknown };
    if (typeof parsed.code === 'string') {
      return new ApiError(parsed.code, parsed.message ?? '', status, parsed.details);
    }
  } catch {
    // Not JSON: fall through.
  }
  return new ApiError(status === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_ERROR', body, status);
}

/**
 * Uploads a .geojson file as a new overlay layer (admins), reporting upload progress as
 * a fraction 0…1. Sent as the raw file (XMLHttpRequest, because fetch reports no upload
 * progress), with one transparent refresh when the access token has expired.
 * @throws ApiError OVERLAY_INVALID, OVERLAY_TOO_LARGE, OVERLAY_NAME_TAKEN, … or NETWORK_ERROR
 */
export async function uploadOverlay(
  file: Blob,
  meta: OverlayUpload,
  onProgress: (fraction: number) => void,
): Promise<OverlayLayer> {
  let token = readStoredSession()?.accessToken ?? null;
  let answer = await xhrUpload(file, meta, token, onProgress);
  if (answer.status === 401 && toError(answer.status, answer.body).code === 'AUTH_TOKEN_EXPIRED') {
    token = (await refreshSession(token)).accessToken;
    answer = await xhrUpload(file, meta, token, onProgress);
  }
  if (answer.status < 200 || answer.status >= 300) throw toError(answer.status, answer.body);
  onProgress(1);
  return JSON.parse(answer.body) as OverlayLayer;
}
