import type { Db } from '../../db/client.ts';
import { appError } from '../../errors.ts';
import type { SyncSource } from '../../realtime/gateway.ts';
import { alarmsOfMemberSince, toSummary } from './repository.ts';

/**
 * The `alarms` sync source: the member's alarms changed since the cursor (the tenant's
 * alarm version), oldest change first, with their own answer. A device that was offline,
 * asleep or connected to a node that died mid fan-out gets every alarm here; the client's
 * inbox keys by id, so one that also arrived live is listed once.
 */
export function alarmsSource(db: Db): SyncSource {
  return {
    access: 'alarms.receive',
    async fetch(auth, cursor, limit) {
      let since = 0;
      if (cursor !== null) {
        if (!/^\d{1,15}$/.test(cursor)) throw appError('SYNC_CURSOR_INVALID');
        since = Number(cursor);
      }
      const rows = await alarmsOfMemberSince(db, auth.tenantId, auth.userId, since, limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(({ alarm, mine }) => toSummary(alarm, mine)),
        cursor: String(last ? last.alarm.version : since),
        hasMore: rows.length > limit,
      };
    },
  };
}
