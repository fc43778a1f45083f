import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ERROR_CATALOGUE } from '@trupp/shared';

/**
 * Serves the built webapp at `/` with history-mode fallback to index.html; unknown
 * `/api/...` and `/socket.io` paths get a JSON 404 instead.
 */
async function webappPlugin(app: FastifyInstance, opts: { dir: string }) {
  const hasWebapp = existsSync(join(opts.dir, 'index.html'));
  if (hasWebapp) {
    await app.register(fastifyStatic, {
      root: opts.dir,
      // Wildcard: files are looked up per request, so a rebuilt webapp is served without a restart.
      wildcard: true,
      index: ['index.html'],
      setHeaders(res, path) {
        // Hashed assets never change; index.html and the service worker always revalidate.
        if (path.includes('/assets/'))
          res.header('cache-control', 'public, max-age=31536000, immutable');
        else res.header('cache-control', 'no-cache');
      },
    });
  }
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const notApp =
      path.startsWith('/api/') ||
      path === '/api' ||
      path.startsWith('/tiles/') ||
      path.startsWith('/maps/');
    if (!hasWebapp || notApp || request.method !== 'GET') {
      return reply.status(404).send({
        code: 'ROUTE_NOT_FOUND',
        message: ERROR_CATALOGUE.ROUTE_NOT_FOUND.message,
        statusCode: 404,
      });
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}

export default fp(webappPlugin, { name: 'webapp' });
