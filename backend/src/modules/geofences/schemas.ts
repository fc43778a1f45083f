import { Type, type Static } from 'typebox';
import { GEOFENCE_KINDS } from '@trupp/shared';

const IdString = Type.String({ minLength: 1, maxLength: 64 });
const Iso = Type.String({ format: 'date-time' });
const Lat = Type.Number({ minimum: -90, maximum: 90 });
const Lon = Type.Number({ minimum: -180, maximum: 180 });

export const GeofenceIdParams = Type.Object({ geofenceId: IdString });

/**
 * A circle (centre, radius in metres) or a closed polygon ring of [lon, lat] pairs. The
 * schema checks types and ranges; `validateGeometry` checks the shape itself (closed,
 * corner count, no self-intersection) and answers GEOFENCE_GEOMETRY_INVALID.
 */
export const GeofenceGeometry = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('circle'),
      lat: Lat,
      lon: Lon,
      radiusM: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('polygon'),
      ring: Type.Array(Type.Tuple([Lon, Lat]), { minItems: 1, maxItems: 5000 }),
    },
    { additionalProperties: false },
  ),
]);

const Name = Type.String({ minLength: 1, maxLength: 80, pattern: '\\S' });
const Kind = Type.Enum([...GEOFENCE_KINDS]);
/** Status text a member gets while inside; empty or null = no status rule. */
const StatusText = Type.Union([Type.String({ maxLength: 60 }), Type.Null()]);

export const GeofenceBody = Type.Object(
  {
    name: Name,
    kind: Kind,
    geometry: GeofenceGeometry,
    statusText: Type.Optional(StatusText),
  },
  { additionalProperties: false },
);
export type GeofenceBody = Static<typeof GeofenceBody>;

export const GeofencePatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    kind: Type.Optional(Kind),
    geometry: Type.Optional(GeofenceGeometry),
    statusText: Type.Optional(StatusText),
  },
  { additionalProperties: false },
);
export type GeofencePatchBody = Static<typeof GeofencePatchBody>;

export const Geofence = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Kind,
  geometry: GeofenceGeometry,
  statusText: Type.Union([Type.String(), Type.Null()]),
  createdAt: Iso,
  updatedAt: Iso,
});

export const GeofencePresence = Type.Object({
  geofenceId: Type.String(),
  userId: Type.String(),
  displayName: Type.String(),
  since: Iso,
  statusText: Type.Union([Type.String(), Type.Null()]),
});
