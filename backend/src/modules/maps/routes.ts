import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * Serves the basemap archive at `/tiles/basemap.pmtiles` from our own origin, with HTTP
 * range requests (the map reads the archive in ranges; nothing comes from a tile CDN).
 * Tiles are public geography, so no sign-in is needed to fetch them.
 */
export default async function mapRoutes(app: FastifyInstance) {
  if (!existsSync(app.config.mapsDir)) {
    app.log.warn({ dir: app.config.mapsDir }, 'no basemap built; run `npm run build -w maps`');
    return;
  }
  await app.register(fastifyStatic, {
    root: app.config.mapsDir,
    prefix: '/tiles/',
    decorateReply: false,
    acceptRanges: true,
    index: false,
    setHeaders(res) {
      res.header('cache-control', 'public, max-age=3600');
      res.header('content-type', 'application/vnd.pmtiles');
    },
  });
}
