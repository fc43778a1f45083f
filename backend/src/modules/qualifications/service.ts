import { and, eq } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.ts';
import { qualifications, userQualifications } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { DomainBus } from '../../lib/bus.ts';
import { isDuplicateKey } from '../../lib/db-errors.ts';
import { newId } from '../../lib/ids.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import { bumpDirectoryVersion } from '../directory/version.ts';
import { findTenant } from '../tenants/repository.ts';
import { findQualification, findQualificationByName, toQualification } from './repository.ts';
import type { Qualification } from './schemas.ts';

export interface QualificationDeps {
  db: Db;
  bus: DomainBus;
}

/**
 * Runs `write`, turning a unique-index clash (two admins creating the same name at the
 * same moment) into the same answer as the check before it.
 */
async function uniqueName<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isDuplicateKey(error)) throw appError('QUALIFICATION_NAME_TAKEN');
    throw error;
  }
}

async function assertNameFree(
  tx: DbOrTx,
  tenantId: string,
  name: string,
  exceptId: string | null,
): Promise<void> {
  const existing = await findQualificationByName(tx, tenantId, name);
  if (existing && existing.id !== exceptId) throw appError('QUALIFICATION_NAME_TAKEN');
}

/**
 * Creates a qualification tag; names are unique per tenant, ignoring case.
 * @throws AppError QUALIFICATION_NAME_TAKEN
 */
export async function createQualification(
  deps: QualificationDeps,
  tenantId: string,
  actor: AuditActor,
  rawName: string,
): Promise<Qualification> {
  const name = rawName.trim();
  const created = await deps.db.transaction(async (tx) => {
    await findTenant(tx, tenantId, { lock: true });
    await assertNameFree(tx, tenantId, name, null);
    const now = new Date();
    const row = { id: newId(), tenantId, name, createdAt: now, updatedAt: now };
    await uniqueName(() => tx.insert(qualifications).values(row));
    await bumpDirectoryVersion(tx, tenantId);
    await recordAudit(tx, tenantId, {
      action: 'qualification.created',
      actor,
      target: { type: 'qualification', id: row.id },
      details: { name },
    });
    return toQualification(row);
  });
  deps.bus.emit('directory.changed', { tenantId });
  return created;
}

/** @throws AppError QUALIFICATION_NOT_FOUND, QUALIFICATION_NAME_TAKEN */
export async function renameQualification(
  deps: QualificationDeps,
  tenantId: string,
  actor: AuditActor,
  qualificationId: string,
  rawName: string,
): Promise<Qualification> {
  const name = rawName.trim();
  const { result, changed } = await deps.db.transaction(async (tx) => {
    await findTenant(tx, tenantId, { lock: true });
    const current = await findQualification(tx, tenantId, qualificationId, { lock: true });
    if (current.name === name) return { result: toQualification(current), changed: false };
    await assertNameFree(tx, tenantId, name, qualificationId);
    await uniqueName(() =>
      tx
        .update(qualifications)
        .set({ name, updatedAt: new Date() })
        .where(and(eq(qualifications.tenantId, tenantId), eq(qualifications.id, qualificationId))),
    );
    await bumpDirectoryVersion(tx, tenantId);
    await recordAudit(tx, tenantId, {
      action: 'qualification.renamed',
      actor,
      target: { type: 'qualification', id: qualificationId },
      details: { from: current.name, to: name },
    });
    return { result: { id: qualificationId, name }, changed: true };
  });
  if (changed) deps.bus.emit('directory.changed', { tenantId });
  return result;
}

/**
 * Deletes a qualification and takes it away from every user who had it.
 * @throws AppError QUALIFICATION_NOT_FOUND
 */
export async function deleteQualification(
  deps: QualificationDeps,
  tenantId: string,
  actor: AuditActor,
  qualificationId: string,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await findTenant(tx, tenantId, { lock: true });
    const current = await findQualification(tx, tenantId, qualificationId, { lock: true });
    const [removed] = await tx
      .delete(userQualifications)
      .where(
        and(
          eq(userQualifications.tenantId, tenantId),
          eq(userQualifications.qualificationId, qualificationId),
        ),
      );
    await tx
      .delete(qualifications)
      .where(and(eq(qualifications.tenantId, tenantId), eq(qualifications.id, qualificationId)));
    await bumpDirectoryVersion(tx, tenantId);
    await recordAudit(tx, tenantId, {
      action: 'qualification.deleted',
      actor,
      target: { type: 'qualification', id: qualificationId },
      details: { name: current.name, removedFromUsers: removed.affectedRows },
    });
  });
  deps.bus.emit('directory.changed', { tenantId });
}
