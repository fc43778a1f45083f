import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { resolveFontStack } from '@trupp/maps/glyphs';
import { readPmtilesHeader } from '@trupp/maps/pmtiles-header';
import {
  EMBEDDED_ARCHIVE_PATH,
  REGION_ARCHIVE_PATH,
  embeddedStyle,
  regionStyle,
  styleLanguage,
} from '@trupp/maps/style';
import { appError } from '../../errors.ts';
import { sendFileWithRanges } from './range-file.ts';

const StyleQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 35 })) });
const GlyphParams = Type.Object({
  fontstack: Type.String({ minLength: 1, maxLength: 256 }),
  range: Type.String({ pattern: '^[0-9]{1,5}-[0-9]{1,5}\\.pbf$' }),
});

/**
 * The basemap from our own origin, nothing from a tile CDN (public geography, so no
 * sign-in):
 * - `/tiles/basemap.pmtiles`: the embedded world basemap built by maps/, and
 *   `/tiles/region.pmtiles`: the extract named by MAP_PMTILES — both with range requests;
 * - `/maps/style.json?lang=de|en`: the MapLibre style, Protomaps street layers over the
 *   embedded world when an extract is configured;
 * - `/maps/fonts/{fontstack}/{start}-{end}.pbf`: glyphs; any font name is answered with
 *   the closest of ours, a range we have no glyphs for with an empty glyph set.
 * Rate limits do not apply: one map view asks for dozens of ranges and glyph sets.
 */
export default async function mapRoutes(app: FastifyInstance) {
  const archive = join(app.config.mapsDir, 'basemap.pmtiles');
  if (!existsSync(archive)) {
    app.log.warn({ dir: app.config.mapsDir }, 'no basemap built; run `npm run build -w maps`');
  }
  const region = app.config.mapPmtiles;
  const regionHeader = region ? readPmtilesHeader(region) : null;
  const pmtiles = { contentType: 'application/vnd.pmtiles', cacheControl: 'public, max-age=3600' };

  // HEAD is routed explicitly: Fastify's automatic HEAD route would read the whole file.
  app.route({
    method: ['GET', 'HEAD'],
    url: EMBEDDED_ARCHIVE_PATH,
    schema: { hide: true },
    config: { rateLimit: false },
    handler: async (request, reply) => {
      if (!existsSync(archive)) throw appError('ROUTE_NOT_FOUND');
      return sendFileWithRanges(request, reply, archive, pmtiles);
    },
  });
  if (region) {
    app.route({
      method: ['GET', 'HEAD'],
      url: REGION_ARCHIVE_PATH,
      schema: { hide: true },
      config: { rateLimit: false },
      handler: async (request, reply) => sendFileWithRanges(request, reply, region, pmtiles),
    });
  }

  app.get<{ Querystring: Static<typeof StyleQuery> }>(
    '/maps/style.json',
    { schema: { hide: true, querystring: StyleQuery }, config: { rateLimit: false } },
    async (request, reply) => {
      const lang = styleLanguage(request.query.lang);
      const style = regionHeader ? regionStyle(lang, regionHeader) : embeddedStyle(lang);
      return reply.header('cache-control', 'no-cache').send(style);
    },
  );

  const glyphCache = new Map<string, Buffer>();
  app.get<{ Params: Static<typeof GlyphParams> }>(
    '/maps/fonts/:fontstack/:range',
    { schema: { hide: true, params: GlyphParams }, config: { rateLimit: false } },
    async (request, reply) => {
      const [start, end] = request.params.range.slice(0, -4).split('-').map(Number) as [
        number,
        number,
      ];
      if (start % 256 !== 0 || end !== start + 255 || end > 65535) {
        throw appError('VALIDATION_FAILED', 'A glyph range is 256 code points, e.g. 0-255.pbf.');
      }
      const font = resolveFontStack(request.params.fontstack);
      const key = `${font}/${start}-${end}.pbf`;
      let pbf = glyphCache.get(key);
      if (!pbf) {
        // A range of code points our fonts do not cover is an empty glyph set, not an error.
        pbf = await readFile(join(app.config.mapsDir, 'fonts', key)).catch(() => undefined);
        if (pbf) glyphCache.set(key, pbf);
      }
      return reply
        .header('content-type', 'application/x-protobuf')
        .header('cache-control', 'public, max-age=86400')
        .send(pbf ?? Buffer.alloc(0));
    },
  );
}
