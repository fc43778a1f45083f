import { and, asc, eq, gt } from 'drizzle-orm';
import type { Db, DbOrTx, Tx } from '../../db/client.ts';
import { auditHeads, auditLog } from '../../db/schema.ts';
import { GENESIS_HASH, chainHash, type ChainedRecord } from './chain.ts';

/** Chain for events that belong to no tenant (e.g. a failed sign-in with an unknown name). */
export const PLATFORM_CHAIN = 'platform';

export interface AuditActor {
  userId?: string | null;
  deviceId?: string | null;
  ip?: string | null;
  /** A dispatch system's API key acting without a user; recorded in the details. */
  apiKeyId?: string | null;
}

export interface AuditEntry {
  /** Dotted, past tense: `auth.login_succeeded`, `device.revoked`, `user.role_changed`. */
  action: string;
  actor?: AuditActor;
  target?: { type: string; id: string };
  details?: Record<string, unknown>;
}

/**
 * Appends one record to the tenant's hash chain. The chain head row is locked FOR UPDATE,
 * so concurrent appends (on any node) are serialised and `seq` has no gaps. Pass the
 * caller's transaction when the audited change is written in one, so both commit or
 * neither does.
 */
export async function recordAudit(db: DbOrTx, tenantId: string, entry: AuditEntry): Promise<void> {
  const append = async (tx: Tx): Promise<void> => {
    await tx.insert(auditHeads).ignore().values({ tenantId, seq: 0, hash: GENESIS_HASH });
    const [head] = await tx
      .select()
      .from(auditHeads)
      .where(eq(auditHeads.tenantId, tenantId))
      .for('update');
    if (!head) throw new Error('audit head missing after insert');
    const record: ChainedRecord = {
      tenantId,
      seq: head.seq + 1,
      at: new Date(),
      actorUserId: entry.actor?.userId ?? null,
      actorDeviceId: entry.actor?.deviceId ?? null,
      actorIp: entry.actor?.ip ?? null,
      action: entry.action,
      targetType: entry.target?.type ?? null,
      targetId: entry.target?.id ?? null,
      details: entry.actor?.apiKeyId
        ? { apiKeyId: entry.actor.apiKeyId, ...entry.details }
        : (entry.details ?? {}),
    };
    const hash = chainHash(head.hash, record);
    await tx.insert(auditLog).values({ ...record, prevHash: head.hash, hash });
    await tx
      .update(auditHeads)
      .set({ seq: record.seq, hash })
      .where(eq(auditHeads.tenantId, tenantId));
  };
  if (isTransaction(db)) await append(db);
  else await db.transaction(append);
}

function isTransaction(db: DbOrTx): db is Tx {
  return 'rollback' in db;
}

export interface ChainVerification {
  ok: boolean;
  /** Records checked. */
  checked: number;
  /** Sequence number of the first record that does not fit the chain. */
  firstBrokenSeq: number | null;
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'seq_gap' | 'head_mismatch' | null;
}

/**
 * Walks the tenant's chain in order and reports the first broken link: a record whose
 * content no longer matches its hash (edited), whose prevHash does not match its
 * predecessor (inserted/reordered), a gap in seq (deleted), or a head that does not
 * match the last record (tail deleted). Records removed by retention leave the oldest
 * remaining record as the anchor.
 */
export async function verifyAuditChain(db: Db, tenantId: string): Promise<ChainVerification> {
  const pageSize = 1000;
  let checked = 0;
  let lastSeq: number | null = null;
  let lastHash: string | null = null;
  for (;;) {
    const rows = await db
      .select()
      .from(auditLog)
      .where(
        lastSeq === null
          ? eq(auditLog.tenantId, tenantId)
          : and(eq(auditLog.tenantId, tenantId), gt(auditLog.seq, lastSeq)),
      )
      .orderBy(asc(auditLog.seq))
      .limit(pageSize);
    for (const row of rows) {
      const broken = (reason: ChainVerification['reason']): ChainVerification => ({
        ok: false,
        checked,
        firstBrokenSeq: row.seq,
        reason,
      });
      if (lastSeq !== null && row.seq !== lastSeq + 1) return broken('seq_gap');
      if (lastHash !== null && row.prevHash !== lastHash) return broken('prev_hash_mismatch');
      if (lastSeq === null && row.seq === 1 && row.prevHash !== GENESIS_HASH) {
        return broken('prev_hash_mismatch');
      }
      if (chainHash(row.prevHash, row) !== row.hash) return broken('hash_mismatch');
      checked += 1;
      lastSeq = row.seq;
      lastHash = row.hash;
    }
    if (rows.length < pageSize) break;
  }
  const [head] = await db.select().from(auditHeads).where(eq(auditHeads.tenantId, tenantId));
  if (head && head.seq > 0 && (head.seq !== lastSeq || head.hash !== lastHash)) {
    return { ok: false, checked, firstBrokenSeq: (lastSeq ?? 0) + 1, reason: 'head_mismatch' };
  }
  return { ok: true, checked, firstBrokenSeq: null, reason: null };
}
