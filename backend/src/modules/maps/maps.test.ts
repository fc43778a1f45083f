import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helper.ts';

let h: TestApp;
const archive = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trupp-maps-'));
  writeFileSync(join(dir, 'basemap.pmtiles'), archive);
  h = await createTestApp({ MAPS_DIR: dir });
});
afterAll(async () => h?.close());

describe('basemap serving', () => {
  it('answers range requests with exactly the bytes asked for', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: '/tiles/basemap.pmtiles',
      headers: { range: 'bytes=100-199' },
    });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 100-199/1000');
    expect(res.rawPayload).toEqual(archive.subarray(100, 200));
  });

  it('serves the whole archive without a range, and 404 with a code for unknown archives', async () => {
    const whole = await h.app.inject({ method: 'GET', url: '/tiles/basemap.pmtiles' });
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.length).toBe(1000);
    const missing = await h.app.inject({ method: 'GET', url: '/tiles/nope.pmtiles' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });
});
