import { and, asc, count, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { units, userUnits } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { Unit } from './schemas.ts';

export type UnitRow = typeof units.$inferSelect;

export function toUnit(row: UnitRow): Unit {
  return { id: row.id, parentId: row.parentId, name: row.name, kind: row.kind };
}

export async function listUnits(db: DbOrTx, tenantId: string): Promise<UnitRow[]> {
  return db.select().from(units).where(eq(units.tenantId, tenantId)).orderBy(asc(units.name));
}

/** @throws AppError UNIT_NOT_FOUND (also for another tenant's unit) */
export async function findUnit(
  db: DbOrTx,
  tenantId: string,
  unitId: string,
  options: { lock?: boolean } = {},
): Promise<UnitRow> {
  const query = db
    .select()
    .from(units)
    .where(and(eq(units.tenantId, tenantId), eq(units.id, unitId)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw appError('UNIT_NOT_FOUND');
  return row;
}

/**
 * Checks that every id names a unit of this tenant; returns them without duplicates.
 * @throws AppError UNIT_NOT_FOUND when one does not (another tenant's unit included)
 */
export async function assertUnitsInTenant(
  db: DbOrTx,
  tenantId: string,
  unitIds: readonly string[],
): Promise<string[]> {
  const wanted = [...new Set(unitIds)];
  if (wanted.length === 0) return [];
  const found = await db
    .select({ id: units.id })
    .from(units)
    .where(and(eq(units.tenantId, tenantId), inArray(units.id, wanted)));
  if (found.length !== wanted.length) throw appError('UNIT_NOT_FOUND');
  return wanted;
}

/** Number of direct sub-units and of members of a unit. */
export async function unitContents(
  db: DbOrTx,
  tenantId: string,
  unitId: string,
): Promise<{ children: number; members: number }> {
  const [[children], [members]] = await Promise.all([
    db
      .select({ n: count() })
      .from(units)
      .where(and(eq(units.tenantId, tenantId), eq(units.parentId, unitId))),
    db
      .select({ n: count() })
      .from(userUnits)
      .where(and(eq(userUnits.tenantId, tenantId), eq(userUnits.unitId, unitId))),
  ]);
  return { children: Number(children?.n ?? 0), members: Number(members?.n ?? 0) };
}
