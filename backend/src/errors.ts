import { ERROR_CATALOGUE, type ApiErrorBody, type ErrorCode } from '@trupp/shared';

/**
 * A domain error with a stable code from the shared catalogue. Services throw these;
 * the error handler (plugins/errors.ts) and the socket gateway turn them into
 * `{ code, message, statusCode, details? }`. Only 5xx errors are worth reporting.
 */
export class AppError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
  ) {
    super(message ?? ERROR_CATALOGUE[code].message);
    this.name = 'AppError';
    this.statusCode = ERROR_CATALOGUE[code].status;
  }

  get reportable(): boolean {
    return this.statusCode >= 500;
  }

  toBody(): ApiErrorBody {
    const body: ApiErrorBody = {
      code: this.code,
      message: this.message,
      statusCode: this.statusCode,
    };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

/** Shorthand: `throw appError('USER_NOT_FOUND')`. */
export function appError(code: ErrorCode, message?: string, details?: unknown): AppError {
  return new AppError(code, message, details);
}

/** Schema of every error response, for the OpenAPI document and response filtering. */
export const ErrorResponseSchema = {
  type: 'object',
  required: ['code', 'message', 'statusCode'],
  properties: {
    code: { type: 'string' },
    message: { type: 'string' },
    statusCode: { type: 'integer' },
    details: {},
  },
} as const;
