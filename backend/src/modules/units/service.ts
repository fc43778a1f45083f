import { and, eq } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.ts';
import { units } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { DomainBus } from '../../lib/bus.ts';
import { newId } from '../../lib/ids.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import { bumpDirectoryVersion } from '../directory/version.ts';
import { findTenant } from '../tenants/repository.ts';
import { findUnit, listUnits, toUnit, unitContents } from './repository.ts';
import type { Unit, UnitCreateBody, UnitPatchBody } from './schemas.ts';

export interface UnitDeps {
  db: Db;
  bus: DomainBus;
}

/*
 * Units form a tree per tenant (district → station → squad). Every change locks the
 * tenant row first — the directory's mutex — so two moves at the same moment cannot
 * together make a cycle that neither would make alone.
 */

/**
 * Creates a unit, at the top level or below `parentId`.
 * @throws AppError UNIT_NOT_FOUND (parent not in this tenant)
 */
export async function createUnit(
  deps: UnitDeps,
  tenantId: string,
  actor: AuditActor,
  input: UnitCreateBody,
): Promise<Unit> {
  const unit = await deps.db.transaction(async (tx) => {
    await findTenant(tx, tenantId, { lock: true });
    const parentId = input.parentId ?? null;
    if (parentId !== null) await findUnit(tx, tenantId, parentId);
    const now = new Date();
    const row = {
      id: newId(),
      tenantId,
      parentId,
      name: input.name.trim(),
      kind: input.kind?.trim() ?? '',
      createdAt: now,
      updatedAt: now,
    };
    await tx.insert(units).values(row);
    await bumpDirectoryVersion(tx, tenantId);
    await recordAudit(tx, tenantId, {
      action: 'unit.created',
      actor,
      target: { type: 'unit', id: row.id },
      details: { name: row.name, kind: row.kind, parentId },
    });
    return toUnit(row);
  });
  deps.bus.emit('directory.changed', { tenantId });
  return unit;
}

/**
 * Renames, relabels and/or moves a unit. A unit cannot move below itself or one of its
 * own sub-units.
 * @throws AppError UNIT_NOT_FOUND (unit or new parent), UNIT_PARENT_INVALID
 */
export async function updateUnit(
  deps: UnitDeps,
  tenantId: string,
  actor: AuditActor,
  unitId: string,
  patch: UnitPatchBody,
): Promise<Unit> {
  const { unit, changed } = await deps.db.transaction(async (tx) => {
    await findTenant(tx, tenantId, { lock: true });
    const current = await findUnit(tx, tenantId, unitId, { lock: true });
    const target = { type: 'unit', id: unitId };
    const columns: Partial<typeof units.$inferInsert> = {};

    const name = patch.name?.trim();
    if (name !== undefined && name !== current.name) {
      columns.name = name;
      await recordAudit(tx, tenantId, {
        action: 'unit.renamed',
        actor,
        target,
        details: { from: current.name, to: name },
      });
    }
    const kind = patch.kind?.trim();
    if (kind !== undefined && kind !== current.kind) {
      columns.kind = kind;
      await recordAudit(tx, tenantId, {
        action: 'unit.kind_changed',
        actor,
        target,
        details: { from: current.kind, to: kind },
      });
    }
    if (patch.parentId !== undefined && patch.parentId !== current.parentId) {
      if (patch.parentId !== null) {
        await findUnit(tx, tenantId, patch.parentId);
        await assertNotBelow(tx, tenantId, patch.parentId, unitId);
      }
      columns.parentId = patch.parentId;
      await recordAudit(tx, tenantId, {
        action: 'unit.moved',
        actor,
        target,
        details: { from: current.parentId, to: patch.parentId },
      });
    }
    if (Object.keys(columns).length === 0) return { unit: toUnit(current), changed: false };
    await tx
      .update(units)
      .set({ ...columns, updatedAt: new Date() })
      .where(and(eq(units.tenantId, tenantId), eq(units.id, unitId)));
    await bumpDirectoryVersion(tx, tenantId);
    return { unit: toUnit({ ...current, ...columns }), changed: true };
  });
  if (changed) deps.bus.emit('directory.changed', { tenantId });
  return unit;
}

/**
 * Refuses to put `unitId` below `newParentId` when that parent is the unit itself or
 * lies in its subtree: walks from the new parent up to the root.
 * @throws AppError UNIT_PARENT_INVALID
 */
async function assertNotBelow(
  tx: DbOrTx,
  tenantId: string,
  newParentId: string,
  unitId: string,
): Promise<void> {
  const parentOf = new Map((await listUnits(tx, tenantId)).map((u) => [u.id, u.parentId]));
  const seen = new Set<string>();
  for (let id: string | null = newParentId; id !== null; id = parentOf.get(id) ?? null) {
    if (id === unitId) throw appError('UNIT_PARENT_INVALID');
    // A cycle that is already there (it cannot arise through this service) must not hang us.
    if (seen.has(id)) throw appError('UNIT_PARENT_INVALID');
    seen.add(id);
  }
}

/**
 * Deletes a unit that has neither sub-units nor members.
 * @throws AppError UNIT_NOT_FOUND, UNIT_NOT_EMPTY (details: { subUnits, members })
 */
export async function deleteUnit(
  deps: UnitDeps,
  tenantId: string,
  actor: AuditActor,
  unitId: string,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await findTenant(tx, tenantId, { lock: true });
    const unit = await findUnit(tx, tenantId, unitId, { lock: true });
    const contents = await unitContents(tx, tenantId, unitId);
    if (contents.children > 0 || contents.members > 0) {
      throw appError('UNIT_NOT_EMPTY', undefined, {
        subUnits: contents.children,
        members: contents.members,
      });
    }
    await tx.delete(units).where(and(eq(units.tenantId, tenantId), eq(units.id, unitId)));
    await bumpDirectoryVersion(tx, tenantId);
    await recordAudit(tx, tenantId, {
      action: 'unit.deleted',
      actor,
      target: { type: 'unit', id: unitId },
      details: { name: unit.name, parentId: unit.parentId },
    });
  });
  deps.bus.emit('directory.changed', { tenantId });
}
