import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { tenants } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { SyncSource } from '../../realtime/gateway.ts';
import { listQualifications, toQualification } from '../qualifications/repository.ts';
import { listUnits, toUnit } from '../units/repository.ts';
import { listUserSummaries } from '../users/repository.ts';

/**
 * The `directory` sync source: units, members and qualifications of the tenant. The
 * cursor is the tenant's directory version; a client behind it gets one full snapshot,
 * so deletions are never missed. Directories are small (hundreds of rows).
 */
export function directorySource(db: Db): SyncSource {
  return {
    access: 'directory.read',
    async fetch(auth, cursor) {
      let known = -1;
      if (cursor !== null) {
        if (!/^\d{1,15}$/.test(cursor)) throw appError('SYNC_CURSOR_INVALID');
        known = Number(cursor);
      }
      const [tenant] = await db
        .select({ version: tenants.directoryVersion })
        .from(tenants)
        .where(eq(tenants.id, auth.tenantId));
      const version = tenant?.version ?? 0;
      if (known === version) return { items: [], cursor: String(version), hasMore: false };
      const [unitRows, users, qualificationRows] = await Promise.all([
        listUnits(db, auth.tenantId),
        listUserSummaries(db, auth.tenantId, { searchEmail: false }),
        listQualifications(db, auth.tenantId),
      ]);
      return {
        items: [
          {
            version,
            units: unitRows.map(toUnit),
            users,
            qualifications: qualificationRows.map(toQualification),
          },
        ],
        cursor: String(version),
        hasMore: false,
      };
    },
  };
}
