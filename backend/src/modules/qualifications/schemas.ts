import { Type, type Static } from 'typebox';

export const Qualification = Type.Object({ id: Type.String(), name: Type.String() });
export type Qualification = Static<typeof Qualification>;

export const QualificationIdParams = Type.Object({
  qualificationId: Type.String({ minLength: 1, maxLength: 64 }),
});

/** A short tag such as "SCBA", "driver", "paramedic". */
export const QualificationBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 60, pattern: '\\S' }) },
  { additionalProperties: false },
);
export type QualificationBody = Static<typeof QualificationBody>;
