import { Type, type Static } from 'typebox';
import { PTT_MAX_TALK_SECONDS, PTT_PRIORITIES, ROLES } from '@trupp/shared';

/**
 * Schemas of the push-to-talk routes and socket events. The shapes match the types in
 * shared/src/ptt.ts, which the web app uses; mediasoup's own objects (RTP parameters and
 * capabilities, DTLS parameters) are checked for their outline here and in depth by the
 * SFU, whose refusals become PTT_MEDIA_INVALID.
 */

const IdString = Type.String({ minLength: 1, maxLength: 64 });
const Iso = Type.String({ format: 'date-time' });
const NullableIso = Type.Union([Iso, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const ChannelIdParams = Type.Object({ channelId: IdString });
export const RecordingIdParams = Type.Object({ recordingId: IdString });
export const EmergencyIdParams = Type.Object({ emergencyId: IdString });

export const Members = Type.Object(
  {
    unitIds: Type.Array(IdString, { maxItems: 200, default: [] }),
    roles: Type.Array(Type.Enum([...ROLES]), { maxItems: ROLES.length, default: [] }),
    userIds: Type.Array(IdString, { maxItems: 2000, default: [] }),
  },
  { additionalProperties: false },
);

const ChannelName = Type.String({ minLength: 1, maxLength: 80, pattern: '\\S' });
const MaxTalkSeconds = Type.Integer({
  minimum: PTT_MAX_TALK_SECONDS.min,
  maximum: PTT_MAX_TALK_SECONDS.max,
});

export const ChannelCreateBody = Type.Object(
  {
    name: ChannelName,
    members: Members,
    priority: Type.Optional(Type.Boolean()),
    recorded: Type.Optional(Type.Boolean()),
    maxTalkSeconds: Type.Optional(MaxTalkSeconds),
  },
  { additionalProperties: false },
);
export type ChannelCreateBody = Static<typeof ChannelCreateBody>;

export const ChannelPatchBody = Type.Object(
  {
    name: Type.Optional(ChannelName),
    members: Type.Optional(Members),
    priority: Type.Optional(Type.Boolean()),
    recorded: Type.Optional(Type.Boolean()),
    maxTalkSeconds: Type.Optional(MaxTalkSeconds),
    archived: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ChannelPatchBody = Static<typeof ChannelPatchBody>;

export const ChannelListQuery = Type.Object(
  { archived: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

export const Channel = Type.Object({
  id: Type.String(),
  name: Type.String(),
  members: Type.Object({
    unitIds: Type.Array(Type.String()),
    roles: Type.Array(Type.Enum([...ROLES])),
    userIds: Type.Array(Type.String()),
  }),
  priority: Type.Boolean(),
  recorded: Type.Boolean(),
  maxTalkSeconds: Type.Integer(),
  alarmId: NullableString,
  archived: Type.Boolean(),
  createdAt: Iso,
  updatedAt: Iso,
});

export const MyChannel = Type.Object({
  id: Type.String(),
  name: Type.String(),
  priority: Type.Boolean(),
  recorded: Type.Boolean(),
  maxTalkSeconds: Type.Integer(),
  alarmId: NullableString,
});

export const RecordingListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    before: Type.Optional(Iso),
  },
  { additionalProperties: false },
);

export const Recording = Type.Object({
  id: Type.String(),
  channelId: Type.String(),
  talkerUserId: Type.String(),
  talkerDisplayName: Type.String(),
  startedAt: Iso,
  durationMs: Type.Integer(),
  bytes: Type.Integer(),
  audioUrl: Type.String(),
});

export const EmergencyListQuery = Type.Object(
  {
    open: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);

export const Emergency = Type.Object({
  id: Type.String(),
  channelId: Type.String(),
  channelName: Type.String(),
  userId: Type.String(),
  displayName: Type.String(),
  position: Type.Union([
    Type.Object({
      lat: Type.Number(),
      lon: Type.Number(),
      accuracy: Type.Number(),
      recordedAt: NullableIso,
    }),
    Type.Null(),
  ]),
  raisedAt: Iso,
  acknowledgedAt: NullableIso,
  acknowledgedByUserId: NullableString,
  acknowledgedByName: NullableString,
});

// ---------------------------------------------------------------- socket payloads

/** mediasoup objects arrive as JSON objects; the SFU checks their inside. */
const MediaObject = Type.Object({}, { additionalProperties: true, maxProperties: 64 });

export const ChannelEvent = Type.Object({ channelId: IdString }, { additionalProperties: false });

export const ConnectTransportEvent = Type.Object(
  { channelId: IdString, transportId: IdString, dtlsParameters: MediaObject },
  { additionalProperties: false },
);

export const ProduceEvent = Type.Object(
  { channelId: IdString, transportId: IdString, rtpParameters: MediaObject },
  { additionalProperties: false },
);

export const ConsumeEvent = Type.Object(
  { channelId: IdString, rtpCapabilities: MediaObject },
  { additionalProperties: false },
);

export const FloorRequestEvent = Type.Object(
  {
    channelId: IdString,
    emergency: Type.Optional(Type.Boolean()),
    /** The member's position at the emergency call (else the last known one is used). */
    position: Type.Optional(
      Type.Object(
        {
          lat: Type.Number({ minimum: -90, maximum: 90 }),
          lon: Type.Number({ minimum: -180, maximum: 180 }),
          accuracy: Type.Number({ minimum: 0, maximum: 100_000 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type FloorRequestEvent = Static<typeof FloorRequestEvent>;

export const ScanEvent = Type.Object(
  {
    scanChannelIds: Type.Array(IdString, { maxItems: 50 }),
    selectedChannelId: Type.Union([IdString, Type.Null()]),
  },
  { additionalProperties: false },
);

export const Priority = Type.Enum([...PTT_PRIORITIES]);
