import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { appError } from '../../errors.ts';

/**
 * Serves one file with HTTP range requests (RFC 9110 §14), as PMTiles readers need: a
 * single `bytes=a-b`, `bytes=a-` or `bytes=-n` range answers 206 with exactly those
 * bytes; no range answers 200 with the whole file. Several ranges at once are answered
 * with the whole file, which the RFC allows and no PMTiles reader asks for. The ETag
 * changes with the file, so a reader notices an archive replaced under it.
 */

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Parses a Range header against a file size: null when there is no usable single
 * range (serve the whole file), 'unsatisfiable' when it starts beyond the end.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}

/**
 * @throws AppError MAP_RANGE_NOT_SATISFIABLE (416) for a range beyond the end of the file.
 */
export async function sendFileWithRanges(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  options: { contentType: string; cacheControl: string },
): Promise<FastifyReply> {
  const info = await stat(path);
  const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  reply
    .header('accept-ranges', 'bytes')
    .header('etag', etag)
    .header('last-modified', info.mtime.toUTCString())
    .header('cache-control', options.cacheControl);

  const ifRange = request.headers['if-range'];
  const range =
    ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, info.size) : null;
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${info.size}`);
    throw appError('MAP_RANGE_NOT_SATISFIABLE');
  }
  if (!range && request.headers['if-none-match'] === etag) return reply.status(304).send();

  const { start, end } = range ?? { start: 0, end: info.size - 1 };
  reply.header('content-type', options.contentType).header('content-length', end - start + 1);
  if (range) reply.status(206).header('content-range', `bytes ${start}-${end}/${info.size}`);
  if (request.method === 'HEAD' || info.size === 0) return reply.send();
  return reply.send(createReadStream(path, { start, end }));
}
