import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { ERROR_CODES } from '@trupp/shared';
import * as t from '../db/schema.ts';
import type { ApiRoute } from '../plugins/access.ts';
import { createTestApp, type TestApp } from '../test/helper.ts';
import {
  authorizationFor,
  fillUrl,
  idForName,
  invalidBodies,
  paramNames,
  sampleFromSchema,
  seedTenant,
  type SeededTenant,
} from '../test/route-walk.ts';

let h: TestApp;
let a: SeededTenant;

/** Tables whose content a refused request must not change. */
const DOMAIN_TABLES = [
  'tenants',
  'units',
  'users',
  'user_units',
  'qualifications',
  'user_qualifications',
  'webauthn_credentials',
  'recovery_codes',
  'one_time_links',
];

async function checksum(): Promise<string> {
  const [rows] = await h.db.database.pool.query(`CHECKSUM TABLE ${DOMAIN_TABLES.join(', ')}`);
  return JSON.stringify((rows as Array<{ Checksum: number }>).map((r) => r.Checksum));
}

beforeAll(async () => {
  h = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000', LOGIN_MAX_FAILURES: '100' });
  a = await seedTenant(h.db.database.db, 'a');
  // A superadmin reaches every route's validation, platform routes included.
  await h.db.database.db
    .update(t.users)
    .set({ isSuperadmin: true })
    .where(eq(t.users.id, a.ids.adminId));
});
afterAll(async () => h?.close());

type Sent = { method: string; url: string; label: string; status: number; body: string };

async function send(
  route: { method: string; url: string; access: ApiRoute['access'] },
  url: string,
  label: string,
  payload: unknown,
  query: Record<string, string> = {},
): Promise<Sent> {
  const response = await h.app.inject({
    method: route.method as 'POST',
    url,
    query,
    headers: {
      authorization: await authorizationFor(route, a, a.ids.adminId),
      'content-type': 'application/json',
    },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
  return {
    method: route.method,
    url: route.url,
    label,
    status: response.statusCode,
    body: response.body,
  };
}

function expectCoded4xx(sent: Sent[]) {
  const bad = sent.filter((s) => {
    if (s.status < 400 || s.status >= 500) return true;
    try {
      const code = (JSON.parse(s.body) as { code?: string }).code;
      return !code || !(ERROR_CODES as string[]).includes(code);
    } catch {
      return true;
    }
  });
  expect(
    bad.map((s) => `${s.method} ${s.url} [${s.label}] → ${s.status} ${s.body.slice(0, 160)}`),
  ).toEqual([]);
}

describe('bad input on every route', () => {
  const idForA = (name: string) => idForName(name, a?.ids, a?.tenantId);

  it('invalid bodies get a coded 4xx and write nothing', async () => {
    const before = await checksum();
    const sent: Sent[] = [];
    const routes = h.app.apiRoutes.filter(
      (r) => (r.schema as { body?: unknown } | undefined)?.body,
    );
    expect(routes.length).toBeGreaterThan(3);
    for (const route of routes) {
      const schema = (route.schema as { body: Record<string, unknown> }).body;
      const valid = sampleFromSchema(schema as never, idForA) as Record<string, unknown>;
      const url = fillUrl(route.url, (p) => idForA(p) ?? 'x');
      for (const variant of invalidBodies(schema as never, valid)) {
        sent.push(await send(route, url, variant.label, variant.body));
      }
      // Ids that exist nowhere.
      for (const key of Object.keys(valid).filter((k) => /Ids?$/.test(k))) {
        const unknown = Array.isArray(valid[key]) ? [randomUUID()] : randomUUID();
        sent.push(await send(route, url, `unknown ${key}`, { ...valid, [key]: unknown }));
      }
    }
    expectCoded4xx(sent);
    expect(await checksum()).toBe(before);
  });

  it('unknown and malformed path parameters get a coded 4xx and write nothing', async () => {
    const before = await checksum();
    const sent: Sent[] = [];
    const routes = h.app.apiRoutes.filter((r) => paramNames(r).length > 0);
    expect(routes.length).toBeGreaterThan(3);
    for (const route of routes) {
      const body = sampleFromSchema((route.schema as { body?: never } | undefined)?.body, idForA);
      for (const [label, value] of [
        ['unknown id', randomUUID()],
        ['oversized id', 'x'.repeat(5000)],
        ['odd characters', "'; DROP TABLE users; --"],
      ] as const) {
        sent.push(
          await send(
            route,
            fillUrl(route.url, () => value),
            label,
            body,
          ),
        );
      }
    }
    expectCoded4xx(sent);
    expect(await checksum()).toBe(before);
  });

  it('wrongly typed query strings get a coded 4xx', async () => {
    const sent: Sent[] = [];
    for (const route of h.app.apiRoutes) {
      const query = (
        route.schema as
          { querystring?: { properties?: Record<string, { type?: string }> } } | undefined
      )?.querystring?.properties;
      if (!query) continue;
      for (const [key, prop] of Object.entries(query)) {
        if (prop.type !== 'integer' && prop.type !== 'number' && prop.type !== 'boolean') continue;
        sent.push(
          await send(
            route,
            fillUrl(route.url, (p) => idForA(p) ?? 'x'),
            `query ${key}`,
            undefined,
            {
              [key]: 'not-a-number',
            },
          ),
        );
      }
    }
    expectCoded4xx(sent);
  });

  it('a body that is not JSON, or too large, is refused with a code', async () => {
    const post = h.app.apiRoutes.find((r) => r.method === 'POST')!;
    const notJson = await h.app.inject({
      method: 'POST',
      url: fillUrl(post.url, (p) => idForA(p) ?? 'x'),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await a.token()}` },
      payload: '{"unterminated": ',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().code).toBe('VALIDATION_FAILED');
    const huge = await h.app.inject({
      method: 'POST',
      url: fillUrl(post.url, (p) => idForA(p) ?? 'x'),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await a.token()}` },
      payload: JSON.stringify({ blob: 'x'.repeat(2_000_000) }),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('PAYLOAD_TOO_LARGE');
  });
});
