import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { tenants } from '../../db/schema.ts';

/**
 * Marks the tenant's directory (units, users, qualifications) as changed. Call inside
 * the transaction that changes it; after commit emit `directory.changed` on the bus.
 * Clients sync the `directory` source by this version, so deletions are never missed.
 */
export async function bumpDirectoryVersion(tx: DbOrTx, tenantId: string): Promise<void> {
  await tx
    .update(tenants)
    .set({ directoryVersion: sql`${tenants.directoryVersion} + 1` })
    .where(eq(tenants.id, tenantId));
}
