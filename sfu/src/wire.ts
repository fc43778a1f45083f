import type { SfuErrorCode } from './errors.ts';
import type { SfuNotification, SfuRequest } from './signaling.ts';

/**
 * Frames of the network control API (one JSON object per WebSocket text message), shared
 * by service.ts and client.ts. Requests carry an id the response repeats; notifications
 * are pushed to every connected backend.
 */
export const SFU_CONTROL_PATH = '/sfu/v1';
export const SFU_PROTOCOL_VERSION = 1;
/** Largest control message either side accepts (an SDP-sized request is a few KB). */
export const MAX_FRAME_BYTES = 1 << 20;

export type ClientFrame = { id: number; request: SfuRequest };

export type ServerFrame =
  /** First frame after the upgrade: which SFU process this is (a new id = a restart). */
  | { type: 'hello'; instanceId: string; version: number }
  | { type: 'response'; id: number; ok: true; result: unknown }
  | {
      type: 'response';
      id: number;
      ok: false;
      error: { code: SfuErrorCode; message: string; statusCode: number };
    }
  | { type: 'notification'; notification: SfuNotification };
