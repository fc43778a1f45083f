import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { oneTimeLinks, qualifications, tenants, units, users } from '../../db/schema.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helper.ts';
import { verifyPassword } from '../auth/passwords.ts';
import { findUsableLink } from '../links/repository.ts';
import { ensureInitialData } from './initial-data.ts';

const PUBLIC_URL = 'https://trupp.example.org';

function capture() {
  const printed: string[] = [];
  return { printed, print: (text: string) => printed.push(text) };
}

describe('initial data with demo data on', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildApp({
      config: loadConfig({ NODE_ENV: 'test' }, { demoData: true, publicUrl: PUBLIC_URL }),
      database: db.database,
    });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('creates Musterstadt with units, qualifications, one user per role, and prints the logins', async () => {
    const out = capture();
    const result = await ensureInitialData(
      { database: db.database, config: { demoData: true, publicUrl: PUBLIC_URL } },
      out.print,
    );
    if (result.kind !== 'demo') throw new Error(`expected demo data, got ${result.kind}`);

    const [tenant] = await db.database.db.select().from(tenants);
    expect(tenant).toMatchObject({
      name: 'Freiwillige Feuerwehr Musterstadt',
      slug: 'musterstadt',
      timezone: 'Europe/Berlin',
    });
    const unitRows = await db.database.db.select().from(units);
    const byName = new Map(unitRows.map((u) => [u.name, u]));
    expect([...byName.keys()].sort()).toEqual(
      ['Gruppe 1', 'Gruppe 2', 'Löschzug 1', 'Löschzug 2', 'Stadt Musterstadt'].sort(),
    );
    expect(byName.get('Gruppe 2')!.parentId).toBe(byName.get('Löschzug 1')!.id);
    expect(byName.get('Löschzug 2')!.parentId).toBe(byName.get('Stadt Musterstadt')!.id);
    const qualificationNames = (await db.database.db.select().from(qualifications)).map(
      (q) => q.name,
    );
    expect(qualificationNames.sort()).toEqual(
      ['Atemschutz', 'Gruppenführer', 'Maschinist', 'Sanitäter'].sort(),
    );

    const userRows = await db.database.db.select().from(users);
    expect(new Set(userRows.map((u) => u.role))).toEqual(
      new Set(['admin', 'dispatcher', 'lead', 'member', 'auditor']),
    );
    const admin = userRows.find((u) => u.email === 'admin@musterstadt.example')!;
    expect(admin).toMatchObject({ role: 'admin', isSuperadmin: true });
    expect(userRows.filter((u) => u.isSuperadmin)).toHaveLength(1);
    expect(userRows.every((u) => u.totpEnabledAt === null)).toBe(true);

    const text = out.printed.join('');
    expect(result.password).toMatch(/^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
    expect(text).toContain(result.password);
    for (const user of userRows) expect(text).toContain(user.email);
    expect(text).toMatch(/admin@musterstadt\.example\s+admin \(also platform operator\)/);
    expect(text).toMatch(/TOTP/);
    expect(await verifyPassword(admin.passwordHash, result.password)).toBe(true);

    // The printed login works; the dispatcher must enrol TOTP first.
    const login = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'dispatcher@musterstadt.example', password: result.password },
    });
    expect(login.json()).toMatchObject({ status: 'ok', session: { mfaEnrolmentRequired: true } });
    const member = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'member@musterstadt.example', password: result.password },
    });
    const token = member.json().session.accessToken;
    const directory = await app.inject({
      method: 'GET',
      url: '/api/users',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(directory.json()).toHaveLength(userRows.length);
  });

  it('does nothing (and prints nothing) once users exist', async () => {
    const out = capture();
    const result = await ensureInitialData(
      { database: db.database, config: { demoData: true, publicUrl: PUBLIC_URL } },
      out.print,
    );
    expect(result).toEqual({ kind: 'existing' });
    expect(out.printed).toEqual([]);
    expect(await db.database.db.select().from(tenants)).toHaveLength(1);
  });
});

describe('initial data in production (no demo data)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const run = (print: (text: string) => void) =>
    ensureInitialData(
      { database: db.database, config: { demoData: false, publicUrl: PUBLIC_URL } },
      print,
    );

  it('prints a 24-hour setup link; a restart prints a fresh one and the old one dies', async () => {
    const first = capture();
    const one = await run(first.print);
    if (one.kind !== 'setup') throw new Error(`expected a setup link, got ${one.kind}`);
    expect(one.url).toMatch(new RegExp(`^${PUBLIC_URL}/link/[A-Za-z0-9_-]{43}$`));
    expect(first.printed.join('')).toContain(one.url);
    const token1 = one.url.split('/link/')[1]!;
    const link = await findUsableLink(db.database.db, token1);
    expect(link).toMatchObject({ purpose: 'setup', tenantId: null, userId: null });
    const hours = (link!.expiresAt.getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    expect(await db.database.db.select().from(users)).toEqual([]);

    const second = capture();
    const two = await run(second.print);
    if (two.kind !== 'setup') throw new Error('expected a second setup link');
    expect(two.url).not.toBe(one.url);
    expect(await findUsableLink(db.database.db, token1)).toBeNull();
    expect(await findUsableLink(db.database.db, two.url.split('/link/')[1]!)).not.toBeNull();
    expect(
      await db.database.db.select().from(oneTimeLinks).where(eq(oneTimeLinks.purpose, 'setup')),
    ).toHaveLength(1);
  });

  it('prints nothing once an account exists', async () => {
    const now = new Date();
    await db.database.db.insert(tenants).values({
      id: 't1',
      name: 'Set up',
      slug: 'set-up',
      createdAt: now,
      updatedAt: now,
    });
    await db.database.db.insert(users).values({
      id: 'u1',
      tenantId: 't1',
      email: 'first@example.org',
      displayName: 'First',
      role: 'admin',
      createdAt: now,
      updatedAt: now,
    });
    const out = capture();
    expect(await run(out.print)).toEqual({ kind: 'existing' });
    expect(out.printed).toEqual([]);
  });

  it('creates data once when two nodes start at the same moment', async () => {
    const racing = await createTestDatabase();
    try {
      const config = { demoData: true, publicUrl: PUBLIC_URL };
      const results = await Promise.all([
        ensureInitialData({ database: racing.database, config }, () => {}),
        ensureInitialData({ database: racing.database, config }, () => {}),
      ]);
      expect(results.map((r) => r.kind).sort()).toEqual(['demo', 'existing']);
      expect(await racing.database.db.select().from(tenants)).toHaveLength(1);
    } finally {
      await racing.drop();
    }
  });
});
