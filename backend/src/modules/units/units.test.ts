import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, tenants, units } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
  type TestTenant,
} from '../../test/factories.ts';

let t: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let admin: ReturnType<typeof apiAs>;
let member: ReturnType<typeof apiAs>;
let auditor: ReturnType<typeof apiAs>;

type Unit = { id: string; parentId: string | null; name: string; kind: string };

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db);
  other = await createTenant(t.app.db);
  const session = async (role: 'admin' | 'member' | 'auditor') =>
    apiAs(
      t.app,
      (await createDeviceSession(t.app.db, await createUser(t.app.db, tenant.id, { role })))
        .accessToken,
    );
  admin = await session('admin');
  member = await session('member');
  auditor = await session('auditor');
});
afterAll(async () => t?.close());

async function directoryVersion(tenantId: string): Promise<number> {
  const [row] = await t.app.db.select().from(tenants).where(eq(tenants.id, tenantId));
  return row!.directoryVersion;
}

async function auditActions(targetId: string): Promise<string[]> {
  const rows = await t.app.db
    .select({ action: auditLog.action })
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.targetId, targetId)))
    .orderBy(auditLog.seq);
  return rows.map((r) => r.action);
}

async function create(name: string, parentId?: string | null, kind?: string): Promise<Unit> {
  const res = await admin('POST', '/api/units', { name, parentId, kind });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

describe('creating units', () => {
  it('builds a tree, bumps the directory version, tells listeners and audits', async () => {
    const changed: string[] = [];
    const off = t.app.bus.on('directory.changed', (e) => changed.push(e.tenantId));
    const before = await directoryVersion(tenant.id);

    const district = await create('Stadt Nord', null, 'district');
    const station = await create('Wache 1', district.id, 'station');
    const squad = await create('  Gruppe A  ', station.id);
    off();

    expect(district).toMatchObject({ parentId: null, name: 'Stadt Nord', kind: 'district' });
    expect(squad).toMatchObject({ parentId: station.id, name: 'Gruppe A', kind: '' });
    const list: Unit[] = (await member('GET', '/api/units')).json();
    expect(list).toEqual(expect.arrayContaining([district, station, squad]));
    expect(await directoryVersion(tenant.id)).toBe(before + 3);
    expect(changed).toEqual([tenant.id, tenant.id, tenant.id]);
    expect(await auditActions(squad.id)).toEqual(['unit.created']);
  });

  it('refuses a parent of another tenant with 404 and creates nothing', async () => {
    const foreign = await createUnit(t.app.db, other.id);
    const before = (await admin('GET', '/api/units')).json<Unit[]>().length;
    const res = await admin('POST', '/api/units', { name: 'Sneaky', parentId: foreign.id });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('UNIT_NOT_FOUND');
    expect((await admin('GET', '/api/units')).json<Unit[]>()).toHaveLength(before);
  });

  it('refuses empty and over-long names', async () => {
    for (const name of ['', '   ', 'x'.repeat(121)]) {
      const res = await admin('POST', '/api/units', { name });
      expect(res.statusCode, JSON.stringify(name)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
  });

  it('lists only the caller’s tenant', async () => {
    const foreign = await createUnit(t.app.db, other.id, { name: 'Foreign station' });
    const list: Unit[] = (await admin('GET', '/api/units')).json();
    expect(list.map((u) => u.id)).not.toContain(foreign.id);
  });
});

describe('changing units', () => {
  it('renames and moves, auditing each', async () => {
    const a = await create('Station A');
    const b = await create('Station B');
    const squad = await create('Squad', a.id);

    const renamed = await admin('PATCH', `/api/units/${squad.id}`, { name: 'Squad 7' });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toMatchObject({ name: 'Squad 7', parentId: a.id });

    const moved = await admin('PATCH', `/api/units/${squad.id}`, { parentId: b.id });
    expect(moved.json()).toMatchObject({ name: 'Squad 7', parentId: b.id });
    const top = await admin('PATCH', `/api/units/${squad.id}`, { parentId: null });
    expect(top.json()).toMatchObject({ parentId: null });

    expect(await auditActions(squad.id)).toEqual([
      'unit.created',
      'unit.renamed',
      'unit.moved',
      'unit.moved',
    ]);
  });

  it('does not bump the directory version when nothing changes', async () => {
    const unit = await create('Unchanged');
    const before = await directoryVersion(tenant.id);
    const res = await admin('PATCH', `/api/units/${unit.id}`, { name: 'Unchanged' });
    expect(res.statusCode).toBe(200);
    expect(await directoryVersion(tenant.id)).toBe(before);
  });

  it('refuses to move a unit below itself or its own sub-units', async () => {
    const root = await create('Root');
    const child = await create('Child', root.id);
    const grandchild = await create('Grandchild', child.id);
    for (const parentId of [root.id, child.id, grandchild.id]) {
      const res = await admin('PATCH', `/api/units/${root.id}`, { parentId });
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('UNIT_PARENT_INVALID');
    }
    const [stored] = await t.app.db.select().from(units).where(eq(units.id, root.id));
    expect(stored!.parentId).toBeNull();
  });

  it('answers 404 for another tenant’s unit and for a parent there', async () => {
    const foreign = await createUnit(t.app.db, other.id, { name: 'Theirs' });
    const mine = await create('Mine');
    const patchForeign = await admin('PATCH', `/api/units/${foreign.id}`, { name: 'Hijacked' });
    expect(patchForeign.statusCode).toBe(404);
    expect(patchForeign.json().code).toBe('UNIT_NOT_FOUND');
    const moveThere = await admin('PATCH', `/api/units/${mine.id}`, { parentId: foreign.id });
    expect(moveThere.statusCode).toBe(404);
    const [stored] = await t.app.db.select().from(units).where(eq(units.id, foreign.id));
    expect(stored!.name).toBe('Theirs');
  });
});

describe('deleting units', () => {
  it('refuses while sub-units or members remain, then deletes', async () => {
    const station = await create('Station to close');
    const squad = await create('Last squad', station.id);
    const person = await createUser(t.app.db, tenant.id, { unitIds: [squad.id] });

    const withChild = await admin('DELETE', `/api/units/${station.id}`);
    expect(withChild.statusCode).toBe(409);
    expect(withChild.json()).toMatchObject({
      code: 'UNIT_NOT_EMPTY',
      details: { subUnits: 1, members: 0 },
    });
    const withMember = await admin('DELETE', `/api/units/${squad.id}`);
    expect(withMember.statusCode).toBe(409);
    expect(withMember.json().details).toEqual({ subUnits: 0, members: 1 });

    await admin('PATCH', `/api/users/${person.id}`, { unitIds: [] });
    expect((await admin('DELETE', `/api/units/${squad.id}`)).statusCode).toBe(204);
    expect((await admin('DELETE', `/api/units/${station.id}`)).statusCode).toBe(204);
    const ids = (await admin('GET', '/api/units')).json<Unit[]>().map((u) => u.id);
    expect(ids).not.toContain(station.id);
    expect(await auditActions(station.id)).toEqual(['unit.created', 'unit.deleted']);
  });

  it('answers 404 for another tenant’s unit and leaves it', async () => {
    const foreign = await createUnit(t.app.db, other.id);
    const res = await admin('DELETE', `/api/units/${foreign.id}`);
    expect(res.statusCode).toBe(404);
    expect(await t.app.db.select().from(units).where(eq(units.id, foreign.id))).toHaveLength(1);
  });
});

describe('who may do what', () => {
  it('lets members read but not change; auditors neither; strangers nothing', async () => {
    const unit = await create('Guarded');
    expect((await member('GET', '/api/units')).statusCode).toBe(200);
    for (const [method, url, body] of [
      ['POST', '/api/units', { name: 'Nope' }],
      ['PATCH', `/api/units/${unit.id}`, { name: 'Nope' }],
      ['DELETE', `/api/units/${unit.id}`, undefined],
    ] as const) {
      const res = await member(method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().code).toBe('AUTH_FORBIDDEN');
    }
    expect((await auditor('GET', '/api/units')).statusCode).toBe(403);
    expect((await apiAs(t.app, null)('GET', '/api/units')).statusCode).toBe(401);
    const [stored] = await t.app.db.select().from(units).where(eq(units.id, unit.id));
    expect(stored!.name).toBe('Guarded');
  });
});
