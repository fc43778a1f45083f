import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createQualification,
  createTenant,
  createUnit,
  createUser,
  type TestTenant,
  type TestUser,
} from '../../test/factories.ts';

let t: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let auditorUser: TestUser;
let auditor: ReturnType<typeof apiAs>;
let admin: ReturnType<typeof apiAs>;

type Connection = {
  id: number;
  userId: string;
  userDisplayName: string | null;
  deviceId: string;
  deviceName: string | null;
  ip: string;
  connectedAt: string;
  disconnectedAt: string | null;
};
type Page = { items: Connection[]; nextBefore: number | null };

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db);
  other = await createTenant(t.app.db);
  auditorUser = await createUser(t.app.db, tenant.id, { role: 'auditor' });
  auditor = apiAs(t.app, (await createDeviceSession(t.app.db, auditorUser)).accessToken);
  const adminUser = await createUser(t.app.db, tenant.id, { role: 'admin' });
  admin = apiAs(t.app, (await createDeviceSession(t.app.db, adminUser)).accessToken);
});
afterAll(async () => t?.close());

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

/** A connection record as the socket gateway writes it. */
async function connection(
  user: TestUser,
  deviceId: string,
  connectedAt: Date,
  disconnectedAt: Date | null,
  ip = '10.0.0.1',
) {
  await t.app.db.insert(connections).values({
    tenantId: user.tenantId,
    userId: user.id,
    deviceId,
    ip,
    userAgent: 'Firefox',
    connectedAt,
    disconnectedAt,
    disconnectReason: disconnectedAt ? 'transport close' : null,
  });
}

async function list(query: string, api = auditor): Promise<Page> {
  const res = await api('GET', `/api/connections${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('GET /api/connections', () => {
  it('lists who was connected, from which device and address, newest first', async () => {
    const person = await createUser(t.app.db, tenant.id, { displayName: 'Connie Nect' });
    const { deviceId } = await createDeviceSession(t.app.db, person, { name: 'Connie phone' });
    await connection(person, deviceId, minutesAgo(120), minutesAgo(90), '10.1.1.1');
    await connection(person, deviceId, minutesAgo(30), null, '10.1.1.2');
    const stranger = await createUser(t.app.db, other.id);
    await connection(stranger, 'foreign-device', minutesAgo(5), null, '10.6.6.6');

    const { items } = await list(`?userId=${person.id}`);
    expect(items.map((c) => c.ip)).toEqual(['10.1.1.2', '10.1.1.1']);
    expect(items[0]).toMatchObject({
      userId: person.id,
      userDisplayName: 'Connie Nect',
      deviceId,
      deviceName: 'Connie phone',
      disconnectedAt: null,
    });
    const all = await list('?limit=500');
    expect(all.items.map((c) => c.ip)).not.toContain('10.6.6.6');
    expect((await list('?deviceId=foreign-device')).items).toEqual([]);
  });

  it('keeps connections that overlap the time range', async () => {
    const person = await createUser(t.app.db, tenant.id);
    const { deviceId } = await createDeviceSession(t.app.db, person);
    await connection(person, deviceId, minutesAgo(300), minutesAgo(200), '10.2.0.1');
    await connection(person, deviceId, minutesAgo(150), minutesAgo(50), '10.2.0.2');
    await connection(person, deviceId, minutesAgo(20), null, '10.2.0.3');
    const window = (from: number, to: number) =>
      `&from=${encodeURIComponent(minutesAgo(from).toISOString())}&to=${encodeURIComponent(
        minutesAgo(to).toISOString(),
      )}`;
    const ips = async (from: number, to: number) =>
      (await list(`?userId=${person.id}${window(from, to)}`)).items.map((c) => c.ip);
    expect(await ips(100, 60)).toEqual(['10.2.0.2']);
    expect(await ips(10, 0)).toEqual(['10.2.0.3']);
    expect(await ips(400, 0)).toEqual(['10.2.0.3', '10.2.0.2', '10.2.0.1']);
    const reversed = await auditor('GET', `/api/connections?${window(0, 100).slice(1)}`);
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json().code).toBe('AUDIT_RANGE_INVALID');
  });

  it('pages by id', async () => {
    const person = await createUser(t.app.db, tenant.id);
    const { deviceId } = await createDeviceSession(t.app.db, person);
    for (let i = 1; i <= 3; i += 1) {
      await connection(person, deviceId, minutesAgo(10 - i), null, `10.3.0.${i}`);
    }
    const first = await list(`?userId=${person.id}&limit=2`);
    expect(first.items.map((c) => c.ip)).toEqual(['10.3.0.3', '10.3.0.2']);
    const second = await list(`?userId=${person.id}&limit=2&before=${first.nextBefore}`);
    expect(second.items.map((c) => c.ip)).toEqual(['10.3.0.1']);
    expect(second.nextBefore).toBeNull();
  });

  it('is for admins and auditors only', async () => {
    expect((await admin('GET', '/api/connections')).statusCode).toBe(200);
    for (const role of ['dispatcher', 'lead', 'member'] as const) {
      const user = await createUser(t.app.db, tenant.id, { role });
      const api = apiAs(t.app, (await createDeviceSession(t.app.db, user)).accessToken);
      expect((await api('GET', '/api/connections')).statusCode, role).toBe(403);
    }
  });
});

describe('an auditor', () => {
  it('reads audit records and connections and nothing else', async () => {
    const unit = await createUnit(t.app.db, tenant.id);
    const q = await createQualification(t.app.db, tenant.id);
    const person = await createUser(t.app.db, tenant.id);
    const { deviceId } = await createDeviceSession(t.app.db, person);

    for (const url of ['/api/audit', '/api/audit/verify', '/api/connections']) {
      expect((await auditor('GET', url)).statusCode, url).toBe(200);
    }
    const refused: [Parameters<typeof auditor>[0], string, object?][] = [
      ['GET', '/api/users'],
      ['GET', `/api/users/${person.id}`],
      ['POST', '/api/users', { email: 'a@b.org', displayName: 'A', role: 'member' }],
      ['PATCH', `/api/users/${person.id}`, { role: 'admin' }],
      ['POST', `/api/users/${person.id}/invite`],
      ['POST', `/api/users/${person.id}/reset-mfa`],
      ['GET', '/api/units'],
      ['POST', '/api/units', { name: 'Auditor unit' }],
      ['PATCH', `/api/units/${unit.id}`, { name: 'x' }],
      ['DELETE', `/api/units/${unit.id}`],
      ['GET', '/api/qualifications'],
      ['POST', '/api/qualifications', { name: 'x' }],
      ['DELETE', `/api/qualifications/${q.id}`],
      ['PATCH', '/api/tenant', { retentionAuditDays: 31 }],
      ['GET', '/api/tenants'],
      ['GET', '/api/devices'],
      ['DELETE', `/api/devices/${deviceId}`],
    ];
    for (const [method, url, body] of refused) {
      const res = await auditor(method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
  });
});
