import { Type, type Static } from 'typebox';

export const ScheduleIdParams = Type.Object({
  scheduleId: Type.String({ minLength: 1, maxLength: 64 }),
});

export const ScheduleBody = Type.Object(
  {
    templateId: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' }),
    /** 0 = Sunday … 6 = Saturday. */
    weekdays: Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7 }),
    /** Local time of the organisation, "HH:MM". */
    time: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
    isTest: Type.Optional(Type.Boolean()),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ScheduleBody = Static<typeof ScheduleBody>;

export const Schedule = Type.Object({
  id: Type.String(),
  templateId: Type.String(),
  name: Type.String(),
  weekdays: Type.Array(Type.Integer()),
  time: Type.String(),
  isTest: Type.Boolean(),
  active: Type.Boolean(),
  nextRunAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastRunAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type Schedule = Static<typeof Schedule>;
