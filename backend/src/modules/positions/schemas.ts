import { Type } from 'typebox';
import { POSITION_SHARING_REASONS } from '@trupp/shared';

export const SharingState = Type.Object({
  sharing: Type.Boolean(),
  reason: Type.Union([Type.Enum([...POSITION_SHARING_REASONS]), Type.Null()]),
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  onDutyEnabled: Type.Boolean(),
  onDuty: Type.Boolean(),
  stopped: Type.Boolean(),
});

export const SharingBody = Type.Object(
  {
    on: Type.Boolean(),
    /** How long sharing stays on (a shift); it ends by itself. */
    hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24, default: 8 })),
  },
  { additionalProperties: false },
);

export const PositionReport = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    accuracy: Type.Number({ minimum: 0, maximum: 10_000 }),
    heading: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 360 }), Type.Null()])),
    speed: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 200 }), Type.Null()])),
    recordedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

export const SubscribeBody = Type.Object(
  {
    /** Only members of this unit and its sub-units; the whole organisation without. */
    unitId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const MapPositionSchema = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  lat: Type.Number(),
  lon: Type.Number(),
  accuracyM: Type.Integer(),
  recordedAt: Type.String({ format: 'date-time' }),
});
