/**
 * The SFU's error catalogue. Every failure of the control API is an `SfuError` with a
 * stable code; the backend maps them to its own responses, and over the network they
 * travel as `{ code, message, statusCode }`. Only 5xx errors are worth reporting.
 * Every code is documented in sfu/README.md (checked by errors.test.ts).
 */
export const SFU_ERRORS = {
  SFU_CHANNEL_NOT_FOUND: { status: 404, message: 'No such channel on this SFU.' },
  SFU_PARTICIPANT_NOT_FOUND: { status: 404, message: 'No such participant in this channel.' },
  SFU_TRANSPORT_NOT_FOUND: { status: 404, message: 'No such transport for this participant.' },
  SFU_PRODUCER_NOT_FOUND: { status: 404, message: 'No such producer in this channel.' },
  SFU_CONSUMER_NOT_FOUND: { status: 404, message: 'No such consumer for this participant.' },
  SFU_ALREADY_PRODUCING: { status: 409, message: 'This participant already sends audio.' },
  SFU_CANNOT_CONSUME: {
    status: 400,
    message: 'The receiver cannot decode this producer (RTP capabilities do not match).',
  },
  SFU_BAD_TRANSPORT_PARAMETERS: {
    status: 400,
    message: 'These connect parameters do not fit this kind of transport.',
  },
  SFU_BAD_RTP_PARAMETERS: {
    status: 400,
    message: 'These RTP parameters are not valid Opus audio for this channel.',
  },
  SFU_BAD_RECORDING_DIRECTORY: {
    status: 400,
    message: 'The recording directory must be an absolute path the SFU can create and write.',
  },
  SFU_BAD_REQUEST: {
    status: 400,
    message: 'This control message is malformed; see sfu/src/signaling.ts for its shape.',
  },
  SFU_UNAUTHORIZED: {
    status: 401,
    message:
      'Wrong or missing SFU secret: give the backend the SFU_SECRET the SFU service runs with.',
  },
  SFU_NOT_FLOOR_HOLDER: {
    status: 403,
    message: 'Only the floor holder’s audio may be resumed; ask for the floor first.',
  },
  SFU_CHANNEL_RESETTING: {
    status: 503,
    message: 'The channel is being re-created after a media worker failure; reconnect shortly.',
  },
  SFU_CLOSED: { status: 503, message: 'The SFU is shutting down.' },
  SFU_NO_WORKER: { status: 503, message: 'No media worker is running.' },
  SFU_UNAVAILABLE: {
    status: 503,
    message: 'The SFU service cannot be reached; the connection is retried automatically.',
  },
  SFU_INTERNAL: { status: 500, message: 'The SFU failed unexpectedly; see its log.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type SfuErrorCode = keyof typeof SFU_ERRORS;

export class SfuError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: SfuErrorCode,
    message?: string,
  ) {
    super(message ?? SFU_ERRORS[code].message);
    this.name = 'SfuError';
    this.statusCode = SFU_ERRORS[code].status;
  }

  get reportable(): boolean {
    return this.statusCode >= 500;
  }

  toBody(): { code: SfuErrorCode; message: string; statusCode: number } {
    return { code: this.code, message: this.message, statusCode: this.statusCode };
  }
}

/** Shorthand: `throw sfuError('SFU_CHANNEL_NOT_FOUND')`. */
export function sfuError(code: SfuErrorCode, message?: string): SfuError {
  return new SfuError(code, message);
}
