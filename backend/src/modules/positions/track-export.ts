import type { positionPoints } from '../../db/schema.ts';

type Point = typeof positionPoints.$inferSelect;

const xml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** GPX 1.1 with one track segment. */
export function trackGpx(name: string, points: Point[]): string {
  const pts = points
    .map(
      (p) =>
        `      <trkpt lat="${p.lat}" lon="${p.lon}"><time>${p.recordedAt.toISOString()}</time>` +
        `<hdop>${(p.accuracyM / 5).toFixed(1)}</hdop></trkpt>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="Trupp" xmlns="http://www.topografix.com/GPX/1/1">
  <trk>
    <name>${xml(name)}</name>
    <trkseg>
${pts}
    </trkseg>
  </trk>
</gpx>
`;
}

/** GeoJSON: one LineString feature with the times per point. */
export function trackGeoJson(name: string, points: Point[]) {
  return {
    type: 'FeatureCollection',
    features: [
      {
        type: 'Feature',
        properties: {
          name,
          times: points.map((p) => p.recordedAt.toISOString()),
          accuracyM: points.map((p) => p.accuracyM),
        },
        geometry: { type: 'LineString', coordinates: points.map((p) => [p.lon, p.lat]) },
      },
    ],
  };
}
