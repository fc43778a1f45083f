import { Type, type Static } from 'typebox';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const Name = Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' });
/** Free label such as "district", "station", "squad"; empty for none. */
const Kind = Type.String({ maxLength: 40 });

export const Unit = Type.Object({
  id: Type.String(),
  parentId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  kind: Type.String(),
});
export type Unit = Static<typeof Unit>;

export const UnitIdParams = Type.Object({ unitId: Id });

export const UnitCreateBody = Type.Object(
  {
    name: Name,
    kind: Type.Optional(Kind),
    parentId: Type.Optional(Type.Union([Id, Type.Null()])),
  },
  { additionalProperties: false },
);
export type UnitCreateBody = Static<typeof UnitCreateBody>;

/** `parentId: null` moves the unit to the top level; leaving it out keeps the parent. */
export const UnitPatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    kind: Type.Optional(Kind),
    parentId: Type.Optional(Type.Union([Id, Type.Null()])),
  },
  { additionalProperties: false },
);
export type UnitPatchBody = Static<typeof UnitPatchBody>;
