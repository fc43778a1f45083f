import { and, desc, eq, isNull } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { DbOrTx } from '../../db/client.ts';
import { apiKeys } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { newId } from '../../lib/ids.ts';
import { randomToken, sha256Hex } from '../../lib/tokens.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import { API_KEY_SCOPES, type ApiKey, type ApiKeyScope, type CreatedApiKey } from './schemas.ts';

/** Every secret starts with this, so a leaked key is easy to recognise (and to scan for). */
export const API_KEY_PREFIX = 'trupp_';
/** Characters of the secret kept in the clear for lists: `trupp_` and six more. */
const SHOWN_CHARS = API_KEY_PREFIX.length + 6;
/** How often `last_used_at` is written at most (one write per minute, not per request). */
const LAST_USED_RESOLUTION_MS = 60_000;

type ApiKeyRow = typeof apiKeys.$inferSelect;

/** The caller of an integration route: a dispatch system holding one of the tenant's keys. */
export interface ApiKeyContext {
  apiKeyId: string;
  tenantId: string;
  scopes: ApiKeyScope[];
}

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes.filter((s): s is ApiKeyScope => API_KEY_SCOPES.includes(s as ApiKeyScope)),
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

/** The tenant's keys, newest first, revoked ones included (they show when and that they ended). */
export async function listApiKeys(db: DbOrTx, tenantId: string): Promise<ApiKey[]> {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.tenantId, tenantId))
    .orderBy(desc(apiKeys.createdAt));
  return rows.map(toApiKey);
}

/** Creates a key; the secret is in the answer and nowhere else. */
export async function createApiKey(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  body: { name: string; scopes: ApiKeyScope[] },
): Promise<CreatedApiKey> {
  const secret = `${API_KEY_PREFIX}${randomToken(32)}`;
  const row: ApiKeyRow = {
    id: newId(),
    tenantId,
    name: body.name.trim(),
    prefix: secret.slice(0, SHOWN_CHARS),
    secretHash: sha256Hex(secret),
    scopes: [...new Set(body.scopes)],
    createdBy: actor.userId ?? null,
    createdAt: new Date(),
    lastUsedAt: null,
    revokedAt: null,
  };
  await app.db.transaction(async (tx) => {
    await tx.insert(apiKeys).values(row);
    await recordAudit(tx, tenantId, {
      action: 'api_key.created',
      actor,
      target: { type: 'api_key', id: row.id },
      details: { name: row.name, scopes: row.scopes },
    });
  });
  return { ...toApiKey(row), secret };
}

/**
 * Revokes a key: from now on it is refused with API_KEY_INVALID. Revoking twice is a no-op.
 * @throws AppError API_KEY_NOT_FOUND (also for another tenant's key)
 */
export async function revokeApiKey(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  apiKeyId: string,
): Promise<void> {
  await app.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, apiKeyId)))
      .for('update');
    if (!row) throw appError('API_KEY_NOT_FOUND');
    if (row.revokedAt) return;
    await tx.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, apiKeyId));
    await recordAudit(tx, tenantId, {
      action: 'api_key.revoked',
      actor,
      target: { type: 'api_key', id: apiKeyId },
      details: { name: row.name },
    });
  });
}

/**
 * Resolves `Authorization: Bearer trupp_…` to its key, looked up by hash.
 * @throws AppError API_KEY_INVALID (missing, unknown or revoked key), AUTH_FORBIDDEN (the
 *   key lacks `scope`)
 */
export async function authenticateApiKey(
  db: DbOrTx,
  token: string | null,
  scope: ApiKeyScope,
): Promise<ApiKeyContext> {
  if (!token || !token.startsWith(API_KEY_PREFIX) || token.length > 200) {
    throw appError('API_KEY_INVALID');
  }
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.secretHash, sha256Hex(token)), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row) throw appError('API_KEY_INVALID');
  if (!row.scopes.includes(scope)) throw appError('AUTH_FORBIDDEN');
  const now = Date.now();
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db
      .update(apiKeys)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(apiKeys.id, row.id));
  }
  return {
    apiKeyId: row.id,
    tenantId: row.tenantId,
    scopes: row.scopes as ApiKeyScope[],
  };
}
