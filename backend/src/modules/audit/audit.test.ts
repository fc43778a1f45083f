import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUser,
  type TestTenant,
  type TestUser,
} from '../../test/factories.ts';
import { recordAudit } from './service.ts';

let t: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let adminUser: TestUser;
let admin: ReturnType<typeof apiAs>;
let auditor: ReturnType<typeof apiAs>;

type AuditRecord = {
  seq: number;
  at: string;
  actorUserId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
};
type Page = { items: AuditRecord[]; nextBefore: number | null };

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  tenant = await createTenant(t.app.db);
  other = await createTenant(t.app.db);
  adminUser = await createUser(t.app.db, tenant.id, { role: 'admin' });
  admin = await as(adminUser);
  auditor = await as(await createUser(t.app.db, tenant.id, { role: 'auditor' }));
});
afterAll(async () => t?.close());

async function as(user: TestUser) {
  return apiAs(t.app, (await createDeviceSession(t.app.db, user)).accessToken);
}

async function page(query: string, api = auditor): Promise<Page> {
  const res = await api('GET', `/api/audit${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** A tenant with `n` records of its own, for tests that break its chain. */
async function tenantWithRecords(n: number): Promise<TestTenant> {
  const victim = await createTenant(t.app.db);
  for (let i = 1; i <= n; i += 1) {
    await recordAudit(t.app.db, victim.id, { action: 'test.recorded', details: { i } });
  }
  return victim;
}

describe('GET /api/audit', () => {
  it('shows what admins did, newest first, with actor and target', async () => {
    const unit = (await admin('POST', '/api/units', { name: 'Audited station' })).json();
    await admin('PATCH', `/api/units/${unit.id}`, { name: 'Renamed station' });
    const { items } = await page('?limit=2');
    expect(items.map((r) => r.action)).toEqual(['unit.renamed', 'unit.created']);
    expect(items[0]).toMatchObject({
      actorUserId: adminUser.id,
      targetType: 'unit',
      targetId: unit.id,
      details: { from: 'Audited station', to: 'Renamed station' },
    });
    expect(items[0]!.seq).toBe(items[1]!.seq + 1);
  });

  it('filters by action, action family, actor, target and time', async () => {
    const person = await createUser(t.app.db, tenant.id);
    await admin('PATCH', `/api/users/${person.id}`, { role: 'lead' });
    await admin('GET', `/api/users/${person.id}`);
    const someoneElse = await createUser(t.app.db, tenant.id);
    await recordAudit(t.app.db, tenant.id, {
      action: 'user.read',
      actor: { userId: someoneElse.id },
      target: { type: 'user', id: adminUser.id },
    });

    const exact = await page('?action=user.role_changed');
    expect(exact.items.every((r) => r.action === 'user.role_changed')).toBe(true);
    expect(exact.items.map((r) => r.targetId)).toContain(person.id);

    const family = await page(`?action=user.*&targetId=${person.id}`);
    expect(family.items.map((r) => r.action)).toEqual(['user.read', 'user.role_changed']);

    const byActor = await page(`?actorUserId=${someoneElse.id}`);
    expect(byActor.items.map((r) => r.targetId)).toEqual([adminUser.id]);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await page(`?from=${encodeURIComponent(future)}`)).items).toEqual([]);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const recent = await page(
      `?from=${encodeURIComponent(past)}&to=${encodeURIComponent(future)}&targetId=${person.id}`,
    );
    expect(recent.items).toHaveLength(2);
  });

  it('pages by seq without gaps or repeats, even while records are added', async () => {
    const source = await tenantWithRecords(5);
    const reader = await as(await createUser(t.app.db, source.id, { role: 'auditor' }));
    const first = await page('?limit=2', reader);
    expect(first.items.map((r) => r.details.i)).toEqual([5, 4]);
    await recordAudit(t.app.db, source.id, { action: 'test.recorded', details: { i: 6 } });
    const second = await page(`?limit=2&before=${first.nextBefore}`, reader);
    expect(second.items.map((r) => r.details.i)).toEqual([3, 2]);
    const third = await page(`?limit=2&before=${second.nextBefore}`, reader);
    expect(third.items.map((r) => r.details.i)).toEqual([1]);
    expect(third.nextBefore).toBeNull();
  });

  it('never shows another tenant’s records', async () => {
    await recordAudit(t.app.db, other.id, { action: 'secret.thing', details: { x: 1 } });
    const { items } = await page('?action=secret.thing');
    expect(items).toEqual([]);
  });

  it('refuses a reversed time range and bad parameters', async () => {
    const res = await auditor(
      'GET',
      '/api/audit?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z',
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('AUDIT_RANGE_INVALID');
    for (const query of [
      '?limit=0',
      '?limit=501',
      '?before=abc',
      '?from=yesterday',
      '?action=DROP',
    ]) {
      expect((await auditor('GET', `/api/audit${query}`)).statusCode, query).toBe(400);
    }
  });
});

describe('GET /api/audit/verify', () => {
  it('reports an intact chain', async () => {
    const res = await auditor('GET', '/api/audit/verify');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, firstBrokenSeq: null, reason: null });
    expect(res.json().checked).toBeGreaterThan(0);
  });

  it('names the first record edited in the database', async () => {
    const victim = await tenantWithRecords(5);
    const reader = await as(await createUser(t.app.db, victim.id, { role: 'auditor' }));
    await t.db.database.pool.query(
      `UPDATE audit_log SET details = '{"i": 99}' WHERE tenant_id = ? AND seq = 3`,
      [victim.id],
    );
    const res = await reader('GET', '/api/audit/verify');
    expect(res.json()).toEqual({
      ok: false,
      checked: 2,
      firstBrokenSeq: 3,
      reason: 'hash_mismatch',
    });
  });

  it('notices a deleted record in the middle as a gap', async () => {
    const victim = await tenantWithRecords(5);
    const reader = await as(await createUser(t.app.db, victim.id, { role: 'admin' }));
    await t.app.db
      .delete(auditLog)
      .where(and(eq(auditLog.tenantId, victim.id), eq(auditLog.seq, 2)));
    const res = await reader('GET', '/api/audit/verify');
    expect(res.json()).toMatchObject({ ok: false, firstBrokenSeq: 3, reason: 'seq_gap' });
  });
});

describe('who may read the audit log', () => {
  it('admins and auditors only', async () => {
    expect((await admin('GET', '/api/audit')).statusCode).toBe(200);
    for (const role of ['dispatcher', 'lead', 'member'] as const) {
      const api = await as(await createUser(t.app.db, tenant.id, { role }));
      for (const url of ['/api/audit', '/api/audit/verify']) {
        const res = await api('GET', url);
        expect(res.statusCode, `${role} ${url}`).toBe(403);
      }
    }
  });
});

describe('npm run audit:verify', () => {
  const backendDir = fileURLToPath(new URL('../../..', import.meta.url));
  const tsx = fileURLToPath(new URL('../../../../node_modules/.bin/tsx', import.meta.url));

  function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(tsx, ['src/cli/audit-verify.ts', ...args], {
        cwd: backendDir,
        env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: t.db.url },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('checks one tenant or all, and exits non-zero on a broken chain', async () => {
    const victim = await tenantWithRecords(4);
    const one = await run([victim.id]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain(`ok      ${victim.id}`);
    expect(one.stdout).toContain('4 records intact');

    await t.db.database.pool.query(
      `UPDATE audit_log SET action = 'test.forged' WHERE tenant_id = ? AND seq = 2`,
      [victim.id],
    );
    const all = await run(['--all']);
    expect(all.code).toBe(1);
    expect(all.stdout).toContain(`BROKEN  ${victim.id}`);
    expect(all.stdout).toContain('first broken record seq 2 (hash_mismatch)');
    expect(all.stdout).toContain(`ok      ${tenant.id}`);

    const unknown = await run(['00000000-0000-0000-0000-000000000000']);
    expect(unknown.code).toBe(4);
    expect((await run(['--bogus'])).code).toBe(2);
  }, 60_000);
});
