import { Type, type Static } from 'typebox';
import { ALARM_PRIORITIES, ALARM_RESPONSES, MAX_ETA_MINUTES, ROLES } from '@trupp/shared';

const IdString = Type.String({ minLength: 1, maxLength: 64 });
const Iso = Type.String({ format: 'date-time' });
const NullableIso = Type.Union([Iso, Type.Null()]);
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);

export const AlarmIdParams = Type.Object({ alarmId: IdString });
export const TemplateIdParams = Type.Object({ templateId: IdString });

const Lat = Type.Number({ minimum: -90, maximum: 90 });
const Lon = Type.Number({ minimum: -180, maximum: 180 });

/** A circle around a point or a closed polygon ring of [lon, lat] pairs. */
export const Area = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('circle'),
      lat: Lat,
      lon: Lon,
      radiusKm: Type.Number({ exclusiveMinimum: 0, maximum: 200 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('polygon'),
      ring: Type.Array(Type.Tuple([Lon, Lat]), { minItems: 4, maxItems: 500 }),
    },
    { additionalProperties: false },
  ),
]);

export const Targets = Type.Object(
  {
    unitIds: Type.Array(IdString, { maxItems: 200, default: [] }),
    roles: Type.Array(Type.Enum([...ROLES]), { maxItems: ROLES.length, default: [] }),
    userIds: Type.Array(IdString, { maxItems: 2000, default: [] }),
    qualificationIds: Type.Array(IdString, { maxItems: 100, default: [] }),
    area: Type.Optional(Type.Union([Area, Type.Null()])),
    /** Everyone whose last known position is inside one of these geofences. */
    geofenceIds: Type.Optional(Type.Array(IdString, { maxItems: 50 })),
  },
  { additionalProperties: false },
);

export const Requirements = Type.Object(
  {
    minMembers: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
    qualifications: Type.Array(
      Type.Object(
        { qualificationId: IdString, min: Type.Integer({ minimum: 1, maximum: 10_000 }) },
        { additionalProperties: false },
      ),
      { maxItems: 50, default: [] },
    ),
  },
  { additionalProperties: false },
);

export const Escalation = Type.Object(
  {
    afterSeconds: Type.Integer({ minimum: 5, maximum: 86_400 }),
    minComing: Type.Integer({ minimum: 0, maximum: 10_000 }),
    extendTargets: Targets,
  },
  { additionalProperties: false },
);

const Priority = Type.Enum([...ALARM_PRIORITIES]);
const Sound = Type.Enum(['siren', 'gong', 'beep']);
const Keyword = Type.String({ minLength: 1, maxLength: 80, pattern: '\\S' });
const Title = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const Text = Type.String({ maxLength: 4000 });

export const TemplateBody = Type.Object(
  {
    keyword: Keyword,
    title: Title,
    text: Type.Optional(Text),
    priority: Priority,
    targets: Targets,
    requirements: Type.Optional(Requirements),
    escalation: Type.Optional(Type.Union([Escalation, Type.Null()])),
    sound: Type.Optional(Sound),
    opensChat: Type.Optional(Type.Boolean()),
    opensPtt: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type TemplateBody = Static<typeof TemplateBody>;

export const Template = Type.Object({
  id: Type.String(),
  keyword: Type.String(),
  title: Type.String(),
  text: Type.String(),
  priority: Priority,
  targets: Targets,
  requirements: Requirements,
  escalation: Type.Union([Escalation, Type.Null()]),
  sound: Type.String(),
  opensChat: Type.Boolean(),
  opensPtt: Type.Boolean(),
});
export type Template = Static<typeof Template>;

export const Location = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
  },
  { additionalProperties: false },
);

export const TriggerBody = Type.Object(
  {
    templateId: Type.Optional(IdString),
    /** Required without a template; override the template's otherwise. */
    keyword: Type.Optional(Keyword),
    title: Type.Optional(Title),
    text: Type.Optional(Text),
    priority: Type.Optional(Priority),
    targets: Type.Optional(Targets),
    requirements: Type.Optional(Requirements),
    escalation: Type.Optional(Type.Union([Escalation, Type.Null()])),
    sound: Type.Optional(Sound),
    location: Type.Optional(Type.Union([Location, Type.Null()])),
    address: Type.Optional(Type.String({ maxLength: 300 })),
    isTest: Type.Optional(Type.Boolean()),
    /** Alert unavailable members too. */
    allHands: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type TriggerBody = Static<typeof TriggerBody>;

export const UpdateBody = Type.Object(
  {
    title: Type.Optional(Title),
    text: Type.Optional(Text),
    address: Type.Optional(Type.String({ maxLength: 300 })),
    location: Type.Optional(Type.Union([Location, Type.Null()])),
    /** Alert these in addition (already alerted members are not alerted twice). */
    addTargets: Type.Optional(Targets),
  },
  { additionalProperties: false },
);
export type UpdateBody = Static<typeof UpdateBody>;

export const RespondBody = Type.Object(
  {
    response: Type.Enum([...ALARM_RESPONSES]),
    etaMinutes: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0, maximum: MAX_ETA_MINUTES }), Type.Null()]),
    ),
  },
  { additionalProperties: false },
);
export type RespondBody = Static<typeof RespondBody>;

export const AlarmIdBody = Type.Object({ alarmId: IdString }, { additionalProperties: false });
export const RespondEvent = Type.Object(
  { ...AlarmIdBody.properties, ...RespondBody.properties },
  { additionalProperties: false },
);

export const AlarmSummary = Type.Object({
  id: Type.String(),
  keyword: Type.String(),
  title: Type.String(),
  text: Type.String(),
  priority: Priority,
  sound: Type.String(),
  isTest: Type.Boolean(),
  lat: NullableNumber,
  lon: NullableNumber,
  address: Type.String(),
  createdAt: Iso,
  updatedAt: Iso,
  closedAt: NullableIso,
  myResponse: Type.Union([Type.Enum([...ALARM_RESPONSES]), Type.Null()]),
  myEtaMinutes: NullableInt,
  alertCount: Type.Integer(),
});

export const RecipientState = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  stage: Type.Integer(),
  alertCount: Type.Integer(),
  sentAt: Iso,
  deliveredAt: NullableIso,
  readAt: NullableIso,
  response: Type.Union([Type.Enum([...ALARM_RESPONSES]), Type.Null()]),
  etaMinutes: NullableInt,
  respondedAt: NullableIso,
  qualificationIds: Type.Array(Type.String()),
  /** Coming members who share: km from their last position, and the ETA it gives. */
  distanceKm: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  positionEtaMinutes: Type.Optional(NullableInt),
});

export const Board = Type.Object({
  alarm: Type.Object({
    ...AlarmSummary.properties,
    targets: Targets,
    requirements: Requirements,
    escalation: Type.Union([Escalation, Type.Null()]),
    escalationStage: Type.Integer(),
    allHands: Type.Boolean(),
    source: Type.String(),
  }),
  recipients: Type.Array(RecipientState),
  totals: Type.Object({
    recipients: Type.Integer(),
    delivered: Type.Integer(),
    read: Type.Integer(),
    coming: Type.Integer(),
    notComing: Type.Integer(),
    later: Type.Integer(),
    noAnswer: Type.Integer(),
  }),
  requirements: Type.Array(
    Type.Object({
      qualificationId: Type.Union([Type.String(), Type.Null()]),
      name: Type.String(),
      need: Type.Integer(),
      have: Type.Integer(),
      met: Type.Boolean(),
    }),
  ),
});

export const AlarmListQuery = Type.Object({
  status: Type.Optional(Type.Enum(['open', 'closed', 'all'])),
  includeTests: Type.Optional(Type.Boolean()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});

export const AlarmListItem = Type.Object({
  ...AlarmSummary.properties,
  recipients: Type.Integer(),
  coming: Type.Integer(),
  source: Type.String(),
});
