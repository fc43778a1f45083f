/** Positions for the dispatch map: who is where, their tracks, and the downloads. */
import type { AlarmResponse, AvailabilityState } from '@trupp/shared';
import { request, requestFile } from './http.ts';

/** A member's last known position with what the map colours and filters by. */
export interface MapMember {
  userId: string;
  displayName: string;
  lat: number;
  lon: number;
  accuracyM: number;
  /** Degrees clockwise from north; null when the device did not report it. */
  heading: number | null;
  speedKmh: number | null;
  recordedAt: string;
  units: Array<{ id: string; name: string }>;
  availability: AvailabilityState;
  /** Their answer to the newest open alarm they were alerted for; null: none open. */
  alarm: { alarmId: string; response: AlarmResponse | null; etaMinutes: number | null } | null;
}

export interface TrackPoint {
  lat: number;
  lon: number;
  accuracyM: number;
  recordedAt: string;
}

export interface Tracks {
  from: string;
  to: string;
  thinned: boolean;
  tracks: Array<{ userId: string; displayName: string; points: TrackPoint[] }>;
}

export const listMapMembers = (): Promise<MapMember[]> => request('GET', '/api/positions/map');

/** Stored tracks of up to 200 members between `from` and `to` (oldest point first). */
export function getTracks(userIds: string[], from: Date, to: Date): Promise<Tracks> {
  const params = new URLSearchParams();
  for (const id of userIds) params.append('userIds', id);
  params.set('from', from.toISOString());
  params.set('to', to.toISOString());
  return request('GET', `/api/positions/tracks?${params.toString()}`);
}

/** One member's track as a GPX or GeoJSON file. */
export const downloadTrack = (
  userId: string,
  format: 'gpx' | 'geojson',
): Promise<{ blob: Blob; filename: string }> =>
  requestFile(
    `/api/positions/${encodeURIComponent(userId)}/track?format=${format}`,
    `track.${format}`,
  );

/** Everyone's current position as a GeoJSON file. */
export const downloadPositions = (): Promise<{ blob: Blob; filename: string }> =>
  requestFile('/api/positions.geojson', 'positions.geojson');
