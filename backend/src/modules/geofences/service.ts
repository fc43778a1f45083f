import { and, eq } from 'drizzle-orm';
import { GEOFENCE_MAX_PER_TENANT, type Geofence } from '@trupp/shared';
import type { Db } from '../../db/client.ts';
import { geofencePresence, geofences } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { isDuplicateKey } from '../../lib/db-errors.ts';
import { newId } from '../../lib/ids.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import { findTenant } from '../tenants/repository.ts';
import { validateGeometry } from './geometry.ts';
import { countGeofences, findGeofence, toGeofence, type GeofenceRow } from './repository.ts';
import type { GeofenceBody, GeofencePatchBody } from './schemas.ts';

export interface GeofenceDeps {
  db: Db;
  /** Called after a change has committed (cache invalidation, broadcast). */
  changed(tenantId: string): void;
}

const cleanStatus = (text: string | null | undefined): string | null =>
  text?.trim() ? text.trim() : null;

async function uniqueName<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isDuplicateKey(error)) throw appError('GEOFENCE_NAME_TAKEN');
    throw error;
  }
}

/**
 * Draws a new geofence.
 * @throws AppError GEOFENCE_GEOMETRY_INVALID, GEOFENCE_NAME_TAKEN, GEOFENCE_LIMIT_REACHED
 */
export async function createGeofence(
  deps: GeofenceDeps,
  tenantId: string,
  actor: AuditActor,
  body: GeofenceBody,
): Promise<Geofence> {
  const geometry = validateGeometry(body.geometry);
  const created = await deps.db.transaction(async (tx) => {
    await findTenant(tx, tenantId, { lock: true });
    if ((await countGeofences(tx, tenantId)) >= GEOFENCE_MAX_PER_TENANT) {
      throw appError('GEOFENCE_LIMIT_REACHED');
    }
    const now = new Date();
    const row: GeofenceRow = {
      id: newId(),
      tenantId,
      name: body.name.trim(),
      kind: body.kind,
      geometry,
      statusText: cleanStatus(body.statusText),
      createdBy: actor.userId ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await uniqueName(() => tx.insert(geofences).values(row));
    await recordAudit(tx, tenantId, {
      action: 'geofence.created',
      actor,
      target: { type: 'geofence', id: row.id },
      details: { name: row.name, kind: row.kind, shape: geometry.kind, statusText: row.statusText },
    });
    return toGeofence(row);
  });
  deps.changed(tenantId);
  return created;
}

/**
 * Renames, reclassifies, reshapes a geofence or changes its status rule. Members' presence
 * stays; the next fix of each member is judged against the new shape.
 * @throws AppError GEOFENCE_NOT_FOUND, GEOFENCE_GEOMETRY_INVALID, GEOFENCE_NAME_TAKEN
 */
export async function updateGeofence(
  deps: GeofenceDeps,
  tenantId: string,
  actor: AuditActor,
  geofenceId: string,
  body: GeofencePatchBody,
): Promise<Geofence> {
  const updated = await deps.db.transaction(async (tx) => {
    // Looked up first: another tenant's id is "not found", whatever the body says.
    const current = await findGeofence(tx, tenantId, geofenceId, { lock: true });
    const geometry = body.geometry ? validateGeometry(body.geometry) : undefined;
    const next: GeofenceRow = {
      ...current,
      ...(body.name === undefined ? {} : { name: body.name.trim() }),
      ...(body.kind === undefined ? {} : { kind: body.kind }),
      ...(geometry === undefined ? {} : { geometry }),
      ...(body.statusText === undefined ? {} : { statusText: cleanStatus(body.statusText) }),
      updatedAt: new Date(),
    };
    await uniqueName(() =>
      tx
        .update(geofences)
        .set({
          name: next.name,
          kind: next.kind,
          geometry: next.geometry,
          statusText: next.statusText,
          updatedAt: next.updatedAt,
        })
        .where(and(eq(geofences.tenantId, tenantId), eq(geofences.id, geofenceId))),
    );
    const changes: Record<string, unknown> = {};
    if (next.name !== current.name) changes.name = { from: current.name, to: next.name };
    if (next.kind !== current.kind) changes.kind = { from: current.kind, to: next.kind };
    if (geometry) changes.shape = geometry.kind;
    if (next.statusText !== current.statusText) {
      changes.statusText = { from: current.statusText, to: next.statusText };
    }
    await recordAudit(tx, tenantId, {
      action: 'geofence.updated',
      actor,
      target: { type: 'geofence', id: geofenceId },
      details: changes,
    });
    return toGeofence(next);
  });
  deps.changed(tenantId);
  return updated;
}

/**
 * Deletes a geofence and every member's presence in it (no exit is announced: the area
 * is gone, nobody left it).
 * @throws AppError GEOFENCE_NOT_FOUND
 */
export async function deleteGeofence(
  deps: GeofenceDeps,
  tenantId: string,
  actor: AuditActor,
  geofenceId: string,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const current = await findGeofence(tx, tenantId, geofenceId, { lock: true });
    await tx
      .delete(geofencePresence)
      .where(
        and(eq(geofencePresence.tenantId, tenantId), eq(geofencePresence.geofenceId, geofenceId)),
      );
    await tx
      .delete(geofences)
      .where(and(eq(geofences.tenantId, tenantId), eq(geofences.id, geofenceId)));
    await recordAudit(tx, tenantId, {
      action: 'geofence.deleted',
      actor,
      target: { type: 'geofence', id: geofenceId },
      details: { name: current.name, kind: current.kind },
    });
  });
  deps.changed(tenantId);
}
