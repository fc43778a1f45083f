import { and, asc, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { qualifications } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { Qualification } from './schemas.ts';

export type QualificationRow = typeof qualifications.$inferSelect;

export function toQualification(row: QualificationRow): Qualification {
  return { id: row.id, name: row.name };
}

export async function listQualifications(
  db: DbOrTx,
  tenantId: string,
): Promise<QualificationRow[]> {
  return db
    .select()
    .from(qualifications)
    .where(eq(qualifications.tenantId, tenantId))
    .orderBy(asc(qualifications.name));
}

/** @throws AppError QUALIFICATION_NOT_FOUND (also for another tenant's qualification) */
export async function findQualification(
  db: DbOrTx,
  tenantId: string,
  qualificationId: string,
  options: { lock?: boolean } = {},
): Promise<QualificationRow> {
  const query = db
    .select()
    .from(qualifications)
    .where(and(eq(qualifications.tenantId, tenantId), eq(qualifications.id, qualificationId)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw appError('QUALIFICATION_NOT_FOUND');
  return row;
}

/**
 * The tenant's qualification with this name, compared as the column's collation does
 * (case-insensitively, so "SCBA" and "scba" are the same tag).
 */
export async function findQualificationByName(
  db: DbOrTx,
  tenantId: string,
  name: string,
): Promise<QualificationRow | null> {
  const [row] = await db
    .select()
    .from(qualifications)
    .where(and(eq(qualifications.tenantId, tenantId), eq(qualifications.name, name)))
    .limit(1);
  return row ?? null;
}

/**
 * Checks that every id names a qualification of this tenant; returns them without duplicates.
 * @throws AppError QUALIFICATION_NOT_FOUND when one does not
 */
export async function assertQualificationsInTenant(
  db: DbOrTx,
  tenantId: string,
  qualificationIds: readonly string[],
): Promise<string[]> {
  const wanted = [...new Set(qualificationIds)];
  if (wanted.length === 0) return [];
  const found = await db
    .select({ id: qualifications.id })
    .from(qualifications)
    .where(and(eq(qualifications.tenantId, tenantId), inArray(qualifications.id, wanted)));
  if (found.length !== wanted.length) throw appError('QUALIFICATION_NOT_FOUND');
  return wanted;
}
