import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, qualifications, userQualifications } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createQualification,
  createTenant,
  createUser,
  type TestTenant,
} from '../../test/factories.ts';

let t: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let admin: ReturnType<typeof apiAs>;
let member: ReturnType<typeof apiAs>;

type Qualification = { id: string; name: string };

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db);
  other = await createTenant(t.app.db);
  const adminUser = await createUser(t.app.db, tenant.id, { role: 'admin' });
  admin = apiAs(t.app, (await createDeviceSession(t.app.db, adminUser)).accessToken);
  const memberUser = await createUser(t.app.db, tenant.id);
  member = apiAs(t.app, (await createDeviceSession(t.app.db, memberUser)).accessToken);
});
afterAll(async () => t?.close());

async function create(name: string): Promise<Qualification> {
  const res = await admin('POST', '/api/qualifications', { name });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

describe('qualifications', () => {
  it('are created, listed by name and audited', async () => {
    const changed: string[] = [];
    const off = t.app.bus.on('directory.changed', (e) => changed.push(e.tenantId));
    const scba = await create('SCBA');
    const driver = await create(' driver ');
    off();
    expect(driver.name).toBe('driver');
    const list: Qualification[] = (await member('GET', '/api/qualifications')).json();
    expect(list).toEqual(expect.arrayContaining([scba, driver]));
    expect(list.findIndex((q) => q.id === driver.id)).toBeLessThan(
      list.findIndex((q) => q.id === scba.id),
    );
    expect(changed).toEqual([tenant.id, tenant.id]);
    const [record] = await t.app.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.targetId, scba.id)));
    expect(record).toMatchObject({ action: 'qualification.created', details: { name: 'SCBA' } });
  });

  it('have unique names per tenant, whatever the case, but may repeat across tenants', async () => {
    await create('Paramedic');
    const dup = await admin('POST', '/api/qualifications', { name: 'PARAMEDIC' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('QUALIFICATION_NAME_TAKEN');
    await createQualification(t.app.db, other.id, 'Hazmat');
    expect((await admin('POST', '/api/qualifications', { name: 'Hazmat' })).statusCode).toBe(201);
  });

  it('are renamed, and a rename onto another name is refused', async () => {
    const q = await create('Chainsaw');
    await create('Boat');
    const renamed = await admin('PATCH', `/api/qualifications/${q.id}`, { name: 'Chainsaw B' });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toEqual({ id: q.id, name: 'Chainsaw B' });
    const clash = await admin('PATCH', `/api/qualifications/${q.id}`, { name: 'boat' });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe('QUALIFICATION_NAME_TAKEN');
    const recase = await admin('PATCH', `/api/qualifications/${q.id}`, { name: 'CHAINSAW B' });
    expect(recase.json().name).toBe('CHAINSAW B');
  });

  it('when deleted, are taken away from every user', async () => {
    const q = await create('Diver');
    const keep = await create('Swimmer');
    const diver = await createUser(t.app.db, tenant.id, { qualificationIds: [q.id, keep.id] });
    const res = await admin('DELETE', `/api/qualifications/${q.id}`);
    expect(res.statusCode).toBe(204);
    const left = await t.app.db
      .select({ id: userQualifications.qualificationId })
      .from(userQualifications)
      .where(eq(userQualifications.userId, diver.id));
    expect(left.map((r) => r.id)).toEqual([keep.id]);
    const users: { id: string; qualificationIds: string[] }[] = (
      await admin('GET', '/api/users')
    ).json();
    expect(users.find((u) => u.id === diver.id)!.qualificationIds).toEqual([keep.id]);
  });

  it('validate names', async () => {
    for (const name of ['', '  ', 'x'.repeat(61)]) {
      expect((await admin('POST', '/api/qualifications', { name })).statusCode).toBe(400);
    }
    expect((await admin('POST', '/api/qualifications', {})).statusCode).toBe(400);
  });

  it('of another tenant are answered 404 and left alone', async () => {
    const foreign = await createQualification(t.app.db, other.id, 'Foreign tag');
    const patch = await admin('PATCH', `/api/qualifications/${foreign.id}`, { name: 'Mine now' });
    expect(patch.statusCode).toBe(404);
    expect(patch.json().code).toBe('QUALIFICATION_NOT_FOUND');
    expect((await admin('DELETE', `/api/qualifications/${foreign.id}`)).statusCode).toBe(404);
    const list: Qualification[] = (await admin('GET', '/api/qualifications')).json();
    expect(list.map((q) => q.id)).not.toContain(foreign.id);
    const [stored] = await t.app.db
      .select()
      .from(qualifications)
      .where(eq(qualifications.id, foreign.id));
    expect(stored!.name).toBe('Foreign tag');
  });

  it('can be read by members but changed only by admins', async () => {
    const q = await create('Guarded tag');
    expect((await member('GET', '/api/qualifications')).statusCode).toBe(200);
    expect((await member('POST', '/api/qualifications', { name: 'x' })).statusCode).toBe(403);
    expect((await member('PATCH', `/api/qualifications/${q.id}`, { name: 'x' })).statusCode).toBe(
      403,
    );
    expect((await member('DELETE', `/api/qualifications/${q.id}`)).statusCode).toBe(403);
  });
});
