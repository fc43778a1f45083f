import { Type, type Static } from 'typebox';

const Iso = Type.String({ format: 'date-time' });
const NullableIso = Type.Union([Iso, Type.Null()]);
/** Seconds, or null when nobody answered (a median of nothing is not zero). */
const Seconds = Type.Union([Type.Number(), Type.Null()]);
/** answered ÷ alerted, 0…1; null when nobody was alerted. */
const Rate = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]);

export const StatsQuery = Type.Object({
  /** Alarms raised at or after this time; default 90 days before `to`. */
  from: Type.Optional(Iso),
  /** Alarms raised at or before this time; default now. */
  to: Type.Optional(Iso),
  includeTests: Type.Optional(Type.Boolean({ default: false })),
});
export type StatsQuery = Static<typeof StatsQuery>;

export const AlarmStatsRow = Type.Object({
  alarmId: Type.String(),
  keyword: Type.String(),
  title: Type.String(),
  isTest: Type.Boolean(),
  createdAt: Iso,
  closedAt: NullableIso,
  recipients: Type.Integer(),
  delivered: Type.Integer(),
  answered: Type.Integer(),
  coming: Type.Integer(),
  later: Type.Integer(),
  notComing: Type.Integer(),
  responseRate: Rate,
  medianResponseSeconds: Seconds,
  p90ResponseSeconds: Seconds,
  /** From raising the alarm to the first "coming". */
  firstComingSeconds: Seconds,
});

export const UnitStatsRow = Type.Object({
  unitId: Type.String(),
  name: Type.String(),
  /** Alarms that reached at least one (current) member of the unit. */
  alarms: Type.Integer(),
  alerted: Type.Integer(),
  answered: Type.Integer(),
  coming: Type.Integer(),
  responseRate: Rate,
  medianResponseSeconds: Seconds,
});

export const MemberStatsRow = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  alerted: Type.Integer(),
  answered: Type.Integer(),
  coming: Type.Integer(),
  responseRate: Rate,
  medianResponseSeconds: Seconds,
});

export const AlarmStatistics = Type.Object({
  from: Iso,
  to: Iso,
  includeTests: Type.Boolean(),
  totals: Type.Object({
    alarms: Type.Integer(),
    alerted: Type.Integer(),
    answered: Type.Integer(),
    coming: Type.Integer(),
    responseRate: Rate,
    medianResponseSeconds: Seconds,
  }),
  alarms: Type.Array(AlarmStatsRow),
  units: Type.Array(UnitStatsRow),
  members: Type.Array(MemberStatsRow),
});
export type AlarmStatistics = Static<typeof AlarmStatistics>;
