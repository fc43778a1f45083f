import type { SyncResponse } from '@trupp/shared';
import { appError } from '../../errors.ts';
import type { AuthContext } from '../auth/access-token.ts';
import { assertAccess, type Realtime } from '../../realtime/gateway.ts';

/** Items per source per sync call; a source with more answers `hasMore`. */
export const SYNC_PAGE_SIZE = 500;

/**
 * Answers a sync request: for each named source, the changes since the client's cursor.
 * @throws AppError SYNC_SOURCE_UNKNOWN, SYNC_CURSOR_INVALID, AUTH_FORBIDDEN
 */
export async function sync(
  realtime: Realtime,
  auth: AuthContext,
  cursors: Record<string, string | null>,
): Promise<SyncResponse> {
  const sources: SyncResponse['sources'] = {};
  for (const name of Object.keys(cursors)) {
    if (!realtime.syncSource(name))
      throw appError('SYNC_SOURCE_UNKNOWN', `There is no sync source "${name}".`);
  }
  for (const [name, cursor] of Object.entries(cursors)) {
    const source = realtime.syncSource(name)!;
    assertAccess(auth, source.access);
    sources[name] = await source.fetch(auth, cursor, SYNC_PAGE_SIZE);
  }
  return { sources };
}
