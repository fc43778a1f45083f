import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { alarms, apiKeys, auditLog } from '../../db/schema.ts';
import { sha256Hex } from '../../lib/tokens.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
} from '../../test/factories.ts';

let h: TestApp;
let tenantId: string;
let admin: ReturnType<typeof apiAs>;
let dispatcher: ReturnType<typeof apiAs>;
let station: { id: string };

type CreatedKey = { id: string; name: string; prefix: string; secret: string; scopes: string[] };

beforeAll(async () => {
  h = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  const db = h.db.database.db;
  tenantId = (await createTenant(db)).id;
  station = await createUnit(db, tenantId, { name: 'Station Nord' });
  await createUser(db, tenantId, { unitIds: [station.id] });
  const adminUser = await createUser(db, tenantId, { role: 'admin' });
  admin = apiAs(h.app, (await createDeviceSession(db, adminUser)).accessToken);
  const dispatcherUser = await createUser(db, tenantId, { role: 'dispatcher' });
  dispatcher = apiAs(h.app, (await createDeviceSession(db, dispatcherUser)).accessToken);
});
afterAll(async () => h?.close());

async function createKey(scopes = ['alarms:write', 'alarms:read']): Promise<CreatedKey> {
  const res = await admin('POST', '/api/api-keys', { name: 'ILS Nord', scopes });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

const trigger = {
  keyword: 'B2',
  title: 'Zimmerbrand',
  priority: 'high',
  targets: { unitIds: [] as string[], roles: [], userIds: [], qualificationIds: [] },
};

describe('API keys', () => {
  it('are created by admins, show their secret once and store only its hash', async () => {
    const key = await createKey();
    expect(key.secret).toMatch(/^trupp_[A-Za-z0-9_-]{43}$/);
    expect(key.secret.startsWith(key.prefix)).toBe(true);
    const listed = (await admin('GET', '/api/api-keys')).json() as Array<Record<string, unknown>>;
    const mine = listed.find((k) => k.id === key.id)!;
    expect(mine).toMatchObject({ name: 'ILS Nord', prefix: key.prefix, revokedAt: null });
    expect(mine).not.toHaveProperty('secret');
    const [row] = await h.app.db.select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(row!.secretHash).toBe(sha256Hex(key.secret));
    expect(JSON.stringify(row)).not.toContain(key.secret);
    const [audit] = await h.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.targetId, key.id)));
    expect(audit).toMatchObject({ action: 'api_key.created' });
  });

  it('are managed by admins only', async () => {
    expect((await dispatcher('GET', '/api/api-keys')).statusCode).toBe(403);
    const res = await dispatcher('POST', '/api/api-keys', { name: 'x', scopes: ['alarms:read'] });
    expect(res.statusCode).toBe(403);
  });

  it('raise, read, update and close an alarm through /api/v1, audited with the key', async () => {
    const key = await createKey();
    const api = apiAs(h.app, key.secret);
    const raised = await api('POST', '/api/v1/alarms', {
      ...trigger,
      targets: { ...trigger.targets, unitIds: [station.id] },
    });
    expect(raised.statusCode, raised.body).toBe(201);
    const alarmId = raised.json().alarm.id as string;
    expect(raised.json().alarm.source).toBe('api');
    expect(raised.json().totals.recipients).toBe(1);

    const board = await api('GET', `/api/v1/alarms/${alarmId}`);
    expect(board.json().alarm.keyword).toBe('B2');
    const patched = await api('PATCH', `/api/v1/alarms/${alarmId}`, { text: 'Person vermisst' });
    expect(patched.json().alarm.text).toBe('Person vermisst');
    const closed = await api('POST', `/api/v1/alarms/${alarmId}/close`);
    expect(closed.statusCode).toBe(200);
    expect(closed.json().alarm.closedAt).not.toBeNull();

    const records = await h.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.targetId, alarmId)));
    expect(records.map((r) => r.action)).toEqual(['alarm.raised', 'alarm.updated', 'alarm.closed']);
    for (const r of records) {
      expect(r.actorUserId).toBeNull();
      expect(r.details).toMatchObject({ apiKeyId: key.id });
    }
    const [row] = await h.app.db.select().from(alarms).where(eq(alarms.id, alarmId));
    expect(row!.createdBy).toBeNull();
  });

  it('are refused when revoked, and a read-only key cannot write', async () => {
    const key = await createKey();
    const api = apiAs(h.app, key.secret);
    expect((await admin('DELETE', `/api/api-keys/${key.id}`)).statusCode).toBe(204);
    const refused = await api('POST', '/api/v1/alarms', trigger);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('API_KEY_INVALID');
    const listed = (await admin('GET', '/api/api-keys')).json() as Array<{
      id: string;
      revokedAt: string | null;
    }>;
    expect(listed.find((k) => k.id === key.id)!.revokedAt).not.toBeNull();

    const reader = apiAs(h.app, (await createKey(['alarms:read'])).secret);
    const forbidden = await reader('POST', '/api/v1/alarms', trigger);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().code).toBe('AUTH_FORBIDDEN');
    expect((await admin('DELETE', `/api/api-keys/${key.id}`)).statusCode).toBe(204);
  });

  it('are not user sessions, and user sessions are not keys', async () => {
    const key = await createKey();
    const asUser = await dispatcher('POST', '/api/v1/alarms', trigger);
    expect(asUser.statusCode).toBe(401);
    expect(asUser.json().code).toBe('API_KEY_INVALID');
    const none = await apiAs(h.app, null)('GET', '/api/v1/alarms/x');
    expect(none.json().code).toBe('API_KEY_INVALID');
    const keyOnUserRoute = await apiAs(h.app, key.secret)('GET', '/api/alarms');
    expect(keyOnUserRoute.statusCode).toBe(401);
  });

  it("of another tenant cannot be revoked, and cannot reach this tenant's alarms", async () => {
    const db = h.db.database.db;
    const other = (await createTenant(db)).id;
    const otherAdmin = await createUser(db, other, { role: 'admin' });
    const otherApi = apiAs(h.app, (await createDeviceSession(db, otherAdmin)).accessToken);
    const otherKey = (
      await otherApi('POST', '/api/api-keys', { name: 'other', scopes: ['alarms:read'] })
    ).json() as CreatedKey;
    const revoke = await admin('DELETE', `/api/api-keys/${otherKey.id}`);
    expect(revoke.statusCode).toBe(404);
    expect(revoke.json().code).toBe('API_KEY_NOT_FOUND');

    const mine = apiAs(h.app, (await createKey()).secret);
    const raised = await mine('POST', '/api/v1/alarms', {
      ...trigger,
      targets: { ...trigger.targets, unitIds: [station.id] },
    });
    const alarmId = raised.json().alarm.id as string;
    const foreign = await apiAs(h.app, otherKey.secret)('GET', `/api/v1/alarms/${alarmId}`);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().code).toBe('ALARM_NOT_FOUND');
  });
});
