import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import {
  connectSfu,
  SfuError,
  startSfu,
  type SfuApi,
  type SfuConfig,
  type SfuNotification,
} from '@trupp/sfu';
import { AppError, appError } from '../../errors.ts';

/**
 * The SFU's control API as the backend uses it: the in-process `Server` and the network
 * client for a remote SFU (`SFU_URL`) both implement it.
 */
export type SfuControl = SfuApi;

/** A running SFU with its notifications fanned out to any number of listeners. */
export interface SfuHandle {
  readonly control: SfuControl;
  subscribe(listener: (notification: SfuNotification) => void): () => void;
  close(): void | Promise<void>;
}

/** Fans notifications out; for tests that share one SFU between several app instances. */
export class NotificationHub {
  readonly #listeners = new Set<(notification: SfuNotification) => void>();

  dispatch = (notification: SfuNotification): void => {
    for (const listener of this.#listeners) listener(notification);
  };

  subscribe(listener: (notification: SfuNotification) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Starts an in-process SFU as a handle (also used by tests to share one between nodes). */
export async function startLocalSfu(config: SfuConfig, log: Logger): Promise<SfuHandle> {
  const hub = new NotificationHub();
  const server = await startSfu({ config, log, onNotification: hub.dispatch });
  return {
    control: server,
    subscribe: (listener) => hub.subscribe(listener),
    // Waits for recordings still being written, so no file is cut off.
    close: () => server.shutdown(),
  };
}

export interface SfuProviderOptions {
  config: SfuConfig;
  /** A remote SFU service (`SFU_URL`, with `SFU_SECRET`); null: in-process. */
  url: string | null;
  secret: string | null;
  log: FastifyBaseLogger;
  /** A handle made elsewhere (tests, several nodes sharing one SFU); not closed by us. */
  shared?: SfuHandle | null;
}

/**
 * Owns the SFU the backend talks to. The in-process SFU starts on first use (the first
 * channel join), so a backend that never carries push-to-talk — and `npm test` — does not
 * spawn media workers; a failed start is retried on the next use. Closing stops an SFU
 * this provider started.
 */
export class SfuProvider {
  readonly #options: SfuProviderOptions;
  #handle: Promise<SfuHandle> | null = null;
  #owned = false;
  #closed = false;
  readonly #listeners = new Set<(notification: SfuNotification) => void>();
  #unsubscribe: (() => void) | null = null;

  constructor(options: SfuProviderOptions) {
    this.#options = options;
  }

  /** True once an SFU is running or starting. */
  get started(): boolean {
    return this.#handle !== null;
  }

  /** Receives every notification of the SFU (also one started later). */
  onNotification(listener: (notification: SfuNotification) => void): void {
    this.#listeners.add(listener);
  }

  /** @throws AppError PTT_MEDIA_UNAVAILABLE when no SFU can be reached or started. */
  async get(): Promise<SfuControl> {
    if (this.#closed) throw appError('PTT_MEDIA_UNAVAILABLE');
    if (!this.#handle) {
      const starting = this.#start();
      this.#handle = starting;
      starting.catch(() => {
        if (this.#handle === starting) this.#handle = null;
      });
    }
    try {
      return (await this.#handle).control;
    } catch (error) {
      this.#options.log.error({ err: error }, 'push-to-talk media server unavailable');
      throw appError('PTT_MEDIA_UNAVAILABLE');
    }
  }

  /** The running SFU, or null (calls that only matter while media exists use this). */
  async current(): Promise<SfuControl | null> {
    if (!this.#handle) return null;
    try {
      return (await this.#handle).control;
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    const handle = this.#handle;
    this.#handle = null;
    if (!handle || !this.#owned) return;
    try {
      await (await handle).close();
    } catch {
      // It never started: nothing to stop.
    }
  }

  async #start(): Promise<SfuHandle> {
    const { shared, url, config, log } = this.#options;
    let handle: SfuHandle;
    if (shared) {
      handle = shared;
    } else if (url) {
      handle = await this.#connect(url);
      this.#owned = true;
    } else {
      handle = await startLocalSfu(config, log.child({ module: 'sfu' }) as unknown as Logger);
      this.#owned = true;
    }
    if (this.#closed) {
      if (this.#owned) await handle.close();
      throw appError('PTT_MEDIA_UNAVAILABLE');
    }
    this.#unsubscribe = handle.subscribe((notification) => {
      for (const listener of this.#listeners) {
        try {
          listener(notification);
        } catch (error) {
          log.error({ err: error, type: notification.type }, 'sfu notification handler threw');
        }
      }
    });
    log.info({ remote: Boolean(url) && !shared }, 'push-to-talk media server ready');
    return handle;
  }

  /**
   * A remote SFU (`npm run start:sfu`, SFU_URL + SFU_SECRET): the sfu package's network
   * client, which reconnects by itself and reports `sfu.connected { restarted }` (the
   * runtime then treats every channel as reset).
   */
  async #connect(url: string): Promise<SfuHandle> {
    const hub = new NotificationHub();
    const client = await connectSfu({
      url,
      secret: this.#options.secret ?? '',
      onNotification: hub.dispatch,
      log: this.#options.log.child({ module: 'sfu-client' }) as unknown as Logger,
    });
    return {
      control: client,
      subscribe: (listener) => hub.subscribe(listener),
      close: () => client.close(),
    };
  }
}

/**
 * Turns an SFU failure into a coded error: a client's stale or wrong ids and parameters
 * are its own 4xx, a media server that is down or re-creating a channel is 503.
 * `clientInput` marks calls that carry the client's mediasoup parameters, whose
 * validation errors mediasoup raises as plain `TypeError`s.
 */
export function mediaError(error: unknown, clientInput = false): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof SfuError) {
    if (error.code === 'SFU_CHANNEL_NOT_FOUND' || error.code === 'SFU_PARTICIPANT_NOT_FOUND') {
      return appError('PTT_NOT_JOINED');
    }
    // The client's stale ids or wrong parameters; a media server that is down or busy
    // re-creating a channel is 5xx.
    return error.statusCode < 500
      ? appError('PTT_MEDIA_INVALID', error.message)
      : appError('PTT_MEDIA_UNAVAILABLE');
  }
  // mediasoup: a transport or worker that closed meanwhile.
  if (error instanceof Error && error.name === 'InvalidStateError') {
    return appError('PTT_MEDIA_UNAVAILABLE');
  }
  if (clientInput && error instanceof Error) {
    return appError('PTT_MEDIA_INVALID', `${error.message}`.slice(0, 300));
  }
  return error;
}
