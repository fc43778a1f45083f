import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OverlayLayer } from '@trupp/shared';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import { apiAs, createDeviceSession, createTenant, createUser } from '../../test/factories.ts';

let h: TestApp;
let adminToken: string;
let admin: ReturnType<typeof apiAs>;
let memberApi: ReturnType<typeof apiAs>;
let dispatcherToken: string;

beforeAll(async () => {
  h = await createTestApp();
  const db = h.db.database.db;
  const tenantId = (await createTenant(db)).id;
  const adminUser = await createUser(db, tenantId, { role: 'admin' });
  adminToken = (await createDeviceSession(db, adminUser)).accessToken;
  admin = apiAs(h.app, adminToken);
  const member = await createUser(db, tenantId);
  memberApi = apiAs(h.app, (await createDeviceSession(db, member)).accessToken);
  const dispatcher = await createUser(db, tenantId, { role: 'dispatcher' });
  dispatcherToken = (await createDeviceSession(db, dispatcher)).accessToken;
});
afterAll(async () => h?.close());

function upload(
  body: string | Buffer,
  query: Record<string, string> = { name: 'Hydranten' },
  token = adminToken,
  contentType = 'application/geo+json',
) {
  return h.app.inject({
    method: 'POST',
    url: '/api/overlays',
    query,
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    payload: body,
  });
}

const hydrants = {
  type: 'FeatureCollection',
  features: [
    {
      type: 'Feature',
      id: 'h1',
      properties: { name: 'Hydrant Marktplatz', diameter: 100, nested: { dropped: true } },
      geometry: { type: 'Point', coordinates: [10.45, 51.16] },
    },
    {
      type: 'Feature',
      properties: null,
      geometry: {
        type: 'LineString',
        coordinates: [
          [10.45, 51.16],
          [10.46, 51.17],
        ],
      },
    },
    {
      type: 'Feature',
      properties: { name: 'Sammelplatz' },
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [10.4, 51.1],
            [10.41, 51.1],
            [10.41, 51.11],
            [10.4, 51.1],
          ],
        ],
      },
    },
  ],
};

const listed = async () => (await admin('GET', '/api/overlays')).json<OverlayLayer[]>();

describe('overlay layers', () => {
  it('uploads a GeoJSON file, lists it and hands it back as GeoJSON', async () => {
    const res = await upload(JSON.stringify(hydrants), { name: 'Hydranten', color: '#1E88E5' });
    expect(res.statusCode, res.body).toBe(201);
    const layer = res.json<OverlayLayer>();
    expect(layer).toMatchObject({
      name: 'Hydranten',
      color: '#1e88e5',
      visibleByDefault: true,
      featureCount: 3,
    });
    // Everyone of the organisation can list and draw it.
    const seen = (await memberApi('GET', '/api/overlays')).json<OverlayLayer[]>();
    expect(seen.map((l) => l.id)).toEqual([layer.id]);
    const geo = await memberApi('GET', `/api/overlays/${layer.id}/geojson`);
    expect(geo.statusCode).toBe(200);
    expect(geo.headers['content-type']).toContain('application/geo+json');
    const back = JSON.parse(geo.body) as typeof hydrants;
    expect(back.features.map((f) => f.geometry)).toEqual(hydrants.features.map((f) => f.geometry));
    // Flat properties kept, nested ones dropped, null properties become {}.
    expect(back.features[0]).toMatchObject({
      id: 'h1',
      properties: { name: 'Hydrant Marktplatz', diameter: 100 },
    });
    expect(back.features[0]!.properties).not.toHaveProperty('nested');
    expect(back.features[1]!.properties).toEqual({});

    // Plain application/json works too; a hidden-by-default layer says so.
    const json = await upload(
      JSON.stringify(hydrants),
      { name: 'Sammelplätze', visible: 'false' },
      adminToken,
      'application/json',
    );
    expect(json.statusCode, json.body).toBe(201);
    expect(json.json<OverlayLayer>().visibleByDefault).toBe(false);
    expect((await listed()).map((l) => l.name)).toEqual(['Hydranten', 'Sammelplätze']);

    // Only admins upload and delete.
    expect(
      (await upload(JSON.stringify(hydrants), { name: 'X' }, dispatcherToken)).statusCode,
    ).toBe(403);
    expect((await memberApi('DELETE', `/api/overlays/${layer.id}`)).json().code).toBe(
      'AUTH_FORBIDDEN',
    );
    expect((await admin('DELETE', `/api/overlays/${layer.id}`)).statusCode).toBe(204);
    expect((await memberApi('GET', `/api/overlays/${layer.id}/geojson`)).json().code).toBe(
      'OVERLAY_NOT_FOUND',
    );
    expect((await admin('DELETE', `/api/overlays/${layer.id}`)).statusCode).toBe(404);
  });

  it('refuses broken, wrong and oversized files with a coded 4xx and stores nothing', async () => {
    const before = await listed();
    const feature = (geometry: object) => ({
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [10, 50] } },
        { type: 'Feature', properties: {}, geometry },
      ],
    });
    const cases: Array<[string, number, string, string?]> = [
      ['{"type": "FeatureCollection", "features": [', 400, 'OVERLAY_INVALID', 'not JSON'],
      ['', 400, 'OVERLAY_INVALID', 'empty'],
      ['42', 400, 'OVERLAY_INVALID', 'FeatureCollection'],
      [JSON.stringify({ type: 'Topology', objects: {} }), 400, 'OVERLAY_INVALID', 'got Topology'],
      [
        JSON.stringify({ type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] } }),
        400,
        'OVERLAY_INVALID',
        'got Feature',
      ],
      [JSON.stringify({ type: 'FeatureCollection', features: [] }), 400, 'OVERLAY_INVALID'],
      [
        JSON.stringify(feature({ type: 'Point', coordinates: [10, 95] })),
        400,
        'OVERLAY_INVALID',
        'Feature 2',
      ],
      [JSON.stringify(feature({ type: 'Point', coordinates: ['10', 50] })), 400, 'OVERLAY_INVALID'],
      [
        JSON.stringify(feature({ type: 'LineString', coordinates: [[10, 50]] })),
        400,
        'OVERLAY_INVALID',
        'at least 2',
      ],
      [
        JSON.stringify(
          feature({
            type: 'Polygon',
            coordinates: [
              [
                [10, 50],
                [11, 50],
                [11, 51],
                [10, 51],
              ],
            ],
          }),
        ),
        400,
        'OVERLAY_INVALID',
        'end where it starts',
      ],
      [
        JSON.stringify(feature({ type: 'GeometryCollection', geometries: [] })),
        400,
        'OVERLAY_INVALID',
        'not supported',
      ],
      [JSON.stringify(feature({ type: 'Point' })), 400, 'OVERLAY_INVALID'],
    ];
    for (const [body, status, code, text] of cases) {
      const res = await upload(body);
      expect(res.statusCode, body.slice(0, 60)).toBe(status);
      expect(res.json().code, body.slice(0, 60)).toBe(code);
      if (text) expect(res.json().message).toContain(text);
    }

    // Too many features, and too many bytes (just over the limit and far over it).
    const point = {
      type: 'Feature',
      properties: {},
      geometry: { type: 'Point', coordinates: [10.1, 50.1] },
    };
    const tooMany = JSON.stringify({
      type: 'FeatureCollection',
      features: Array.from({ length: 10_001 }, () => point),
    });
    expect(tooMany.length).toBeLessThan(2 * 1024 * 1024);
    const many = await upload(tooMany);
    expect([many.statusCode, many.json().code]).toEqual([413, 'OVERLAY_TOO_LARGE']);
    const padded = (bytes: number) =>
      JSON.stringify({
        type: 'FeatureCollection',
        features: [{ ...point, properties: { note: 'x'.repeat(bytes) } }],
      });
    for (const bytes of [2 * 1024 * 1024 + 10, 6 * 1024 * 1024]) {
      const res = await upload(padded(bytes));
      expect([res.statusCode, res.json().code]).toEqual([413, 'OVERLAY_TOO_LARGE']);
    }
    // Other content types and bad names.
    const text = await upload(JSON.stringify(hydrants), { name: 'Y' }, adminToken, 'image/png');
    expect(text.statusCode).toBe(415);
    expect(text.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const noName = await upload(JSON.stringify(hydrants), {});
    expect(noName.json().code).toBe('VALIDATION_FAILED');
    const badColour = await upload(JSON.stringify(hydrants), { name: 'Z', color: 'red' });
    expect(badColour.json().code).toBe('VALIDATION_FAILED');

    expect(await listed()).toEqual(before);

    // A name is taken once per organisation.
    expect((await upload(JSON.stringify(hydrants), { name: 'Wasser' })).statusCode).toBe(201);
    const again = await upload(JSON.stringify(hydrants), { name: 'wasser' });
    expect([again.statusCode, again.json().code]).toEqual([409, 'OVERLAY_NAME_TAKEN']);
  });

  it("keeps another organisation's layers out of reach", async () => {
    const mine = await upload(JSON.stringify(hydrants), { name: 'Eigene Hydranten' });
    const id = mine.json<OverlayLayer>().id;
    const db = h.db.database.db;
    const other = await createTenant(db);
    const otherAdmin = await createUser(db, other.id, { role: 'admin' });
    const otherApi = apiAs(h.app, (await createDeviceSession(db, otherAdmin)).accessToken);
    expect((await otherApi('GET', '/api/overlays')).json()).toEqual([]);
    expect((await otherApi('GET', `/api/overlays/${id}/geojson`)).statusCode).toBe(404);
    expect((await otherApi('DELETE', `/api/overlays/${id}`)).statusCode).toBe(404);
    expect((await admin('GET', `/api/overlays/${id}/geojson`)).statusCode).toBe(200);
  });
});
