import { pino, type Logger } from 'pino';
import { loadSfuConfig, type SfuConfig } from './config.ts';
import { Server } from './Server.ts';
import type { SfuNotification } from './signaling.ts';

export { Server } from './Server.ts';
export { connectSfu, SfuClient, type ConnectSfuOptions } from './client.ts';
export { startSfuService, type SfuService, type SfuServiceOptions } from './service.ts';
export { OggOpusWriter, oggCrc32, opusPacketSamples } from './ogg-opus.ts';
export { Floor, floorRank, FLOOR_PRIORITIES } from './floor.ts';
export type { FloorEvent, FloorHolder, FloorPriority, FloorRequest, FloorResult } from './floor.ts';
export { loadSfuConfig, MIN_SECRET_LENGTH, SfuConfigError, type SfuConfig } from './config.ts';
export { SFU_ERRORS, SfuError, type SfuErrorCode } from './errors.ts';
export type * from './signaling.ts';

export interface StartSfuOptions {
  /** Default: `loadSfuConfig()` from the environment. */
  readonly config?: SfuConfig;
  /** Default: a pino logger at `config.logLevel`; the backend passes a child of its own. */
  readonly log?: Logger;
  readonly onNotification?: (notification: SfuNotification) => void;
}

/**
 * Starts the in-process SFU: the worker pool with one WebRtcServer per worker.
 * @throws SfuConfigError for invalid SFU_* variables; Error when a worker cannot start.
 */
export function startSfu(options: StartSfuOptions = {}): Promise<Server> {
  const config = options.config ?? loadSfuConfig();
  const log = options.log ?? pino({ name: 'sfu', level: config.logLevel });
  return Server.start({ config, log, onNotification: options.onNotification });
}
