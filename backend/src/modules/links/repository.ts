import { and, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { oneTimeLinks } from '../../db/schema.ts';
import { newId } from '../../lib/ids.ts';
import { randomToken, sha256Hex } from '../../lib/tokens.ts';

export type LinkPurpose = (typeof oneTimeLinks.$inferSelect)['purpose'];
export type LinkRow = typeof oneTimeLinks.$inferSelect;

/** How long an invitation link stays valid. */
export const INVITE_TTL_MS = 7 * 24 * 3600 * 1000;
/** How long the first-admin setup link stays valid. */
export const SETUP_TTL_MS = 24 * 3600 * 1000;

/** The address a one-time link is opened at; the webapp route `/link/:token` handles it. */
export function linkUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/link/${token}`;
}

/**
 * Issues a one-time link and returns its token (only its SHA-256 is stored, so the token
 * exists in plain text only in the answer to the admin). Earlier unused links of the same
 * purpose for the same user — or, for setup, every earlier setup link — die with it, so
 * only the newest link works. Call inside the transaction that creates or changes the user.
 */
export async function issueLink(
  tx: DbOrTx,
  input: {
    tenantId: string | null;
    userId: string | null;
    purpose: LinkPurpose;
    ttlMs: number;
    createdBy: string | null;
  },
): Promise<string> {
  await tx
    .delete(oneTimeLinks)
    .where(
      and(
        eq(oneTimeLinks.purpose, input.purpose),
        isNull(oneTimeLinks.usedAt),
        input.userId === null ? undefined : eq(oneTimeLinks.userId, input.userId),
      ),
    );
  const token = randomToken();
  const now = new Date();
  await tx.insert(oneTimeLinks).values({
    id: newId(),
    tenantId: input.tenantId,
    userId: input.userId,
    purpose: input.purpose,
    tokenHash: sha256Hex(token),
    expiresAt: new Date(now.getTime() + input.ttlMs),
    createdBy: input.createdBy,
    createdAt: now,
  });
  return token;
}

/** Kills every unused link of a user (deactivation): an old invitation must not revive them. */
export async function deleteUnusedLinksOfUser(
  tx: DbOrTx,
  tenantId: string,
  userId: string,
): Promise<void> {
  await tx
    .delete(oneTimeLinks)
    .where(
      and(
        eq(oneTimeLinks.tenantId, tenantId),
        eq(oneTimeLinks.userId, userId),
        isNull(oneTimeLinks.usedAt),
      ),
    );
}

/**
 * The link with this token, if it can still be used (not used, not expired). Pass a
 * transaction and `lock` to lock it before using it up, so it is used exactly once.
 */
export async function findUsableLink(
  db: DbOrTx,
  token: string,
  options: { lock?: boolean } = {},
): Promise<LinkRow | null> {
  const query = db
    .select()
    .from(oneTimeLinks)
    .where(and(eq(oneTimeLinks.tokenHash, sha256Hex(token)), isNull(oneTimeLinks.usedAt)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row || row.expiresAt.getTime() <= Date.now()) return null;
  return row;
}

export async function markLinkUsed(tx: DbOrTx, linkId: string): Promise<void> {
  await tx.update(oneTimeLinks).set({ usedAt: new Date() }).where(eq(oneTimeLinks.id, linkId));
}
