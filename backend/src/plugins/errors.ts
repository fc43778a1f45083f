import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_CATALOGUE, type ApiErrorBody, type ErrorCode } from '@trupp/shared';
import { AppError } from '../errors.ts';

/** Fastify's own error codes mapped onto our catalogue. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
  FST_ERR_MAX_PARAM_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_ASYNC_CONSTRAINT: 'VALIDATION_FAILED',
};

/** Turns anything thrown into `{ code, message, statusCode }`; hides the details of 5xx. */
export function toErrorBody(error: unknown): ApiErrorBody {
  if (error instanceof AppError) return error.toBody();
  const err = error as Partial<FastifyError> & { validation?: unknown[] };
  if (err.validation) {
    return {
      code: 'VALIDATION_FAILED',
      message: `${ERROR_CATALOGUE.VALIDATION_FAILED.message} ${err.message ?? ''}`.trim(),
      statusCode: 400,
      details: err.validation,
    };
  }
  if (err.statusCode === 429) {
    return { code: 'RATE_LIMITED', message: ERROR_CATALOGUE.RATE_LIMITED.message, statusCode: 429 };
  }
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped) {
    return { code: mapped, message: err.message ?? '', statusCode: ERROR_CATALOGUE[mapped].status };
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return { code: 'VALIDATION_FAILED', message: err.message ?? '', statusCode: err.statusCode };
  }
  return {
    code: 'INTERNAL_ERROR',
    message: ERROR_CATALOGUE.INTERNAL_ERROR.message,
    statusCode: 500,
  };
}

async function errorsPlugin(app: FastifyInstance) {
  app.setErrorHandler((error, request, reply) => {
    const body = toErrorBody(error);
    if (body.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.debug({ code: body.code }, 'request refused');
    if (body.code === 'RATE_LIMITED' || body.code === 'AUTH_LOCKED') {
      const retry = (body.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      if (retry) reply.header('retry-after', String(retry));
    }
    return reply.status(body.statusCode).send(body);
  });
}

export default fp(errorsPlugin, { name: 'errors' });
