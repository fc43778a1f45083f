import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { SFU_ERRORS, SfuError, type SfuErrorCode } from './errors.ts';
import type {
  ConsumerInfo,
  RecordingOptions,
  SfuApi,
  SfuMethod,
  SfuNotification,
  SfuRequest,
  SfuResponse,
  SfuStats,
  TransportInfo,
  TransportKind,
} from './signaling.ts';
import type { ClientFrame, ServerFrame } from './wire.ts';

export interface ConnectSfuOptions {
  /** The service's URL, e.g. `ws://127.0.0.1:4080/sfu/v1` (`wss://` through a TLS proxy). */
  readonly url: string;
  /** The `SFU_SECRET` the service runs with. */
  readonly secret: string;
  /** Receives the SFU's notifications and `sfu.disconnected` / `sfu.connected`. */
  readonly onNotification?: (notification: SfuNotification) => void;
  readonly log?: Logger;
  /** A request without an answer by then fails with SFU_UNAVAILABLE. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Longest wait between reconnection attempts. Default 5 s. */
  readonly maxReconnectDelayMs?: number;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: SfuError) => void;
  timer: NodeJS.Timeout;
}

const unavailable = (detail: string) =>
  new SfuError('SFU_UNAVAILABLE', `${SFU_ERRORS.SFU_UNAVAILABLE.message} (${detail})`);

/**
 * Connects to an SFU service (`npm run start:sfu`) and returns the same control API as
 * the in-process `Server`. Resolves once connected and authenticated.
 *
 * If the connection drops, requests in flight and new ones fail with SFU_UNAVAILABLE
 * while the client reconnects by itself (250 ms, doubling up to 5 s), and the
 * notifications `sfu.disconnected` and then `sfu.connected` are delivered — with
 * `restarted: true` when the service is a new process, whose channels are all gone.
 * @throws SfuError SFU_UNAUTHORIZED for a wrong secret, SFU_UNAVAILABLE when unreachable
 */
export async function connectSfu(options: ConnectSfuOptions): Promise<SfuClient> {
  const client = new SfuClient(options);
  await client.connected;
  return client;
}

export class SfuClient implements SfuApi {
  readonly #options: ConnectSfuOptions;
  readonly #pending = new Map<number, Pending>();
  #socket: WebSocket | null = null;
  #open = false;
  #nextId = 1;
  #instanceId: string | null = null;
  #closed = false;
  #reconnectDelay = 250;
  #reconnectTimer: NodeJS.Timeout | null = null;
  /** Settles with the first connection attempt. */
  readonly connected: Promise<void>;

  constructor(options: ConnectSfuOptions) {
    this.#options = options;
    this.connected = this.#connect(true);
    // Handled by whoever awaits it (connectSfu); never an unhandled rejection.
    this.connected.catch(() => undefined);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True while the connection is up. */
  get online(): boolean {
    return this.#open;
  }

  /** Sends one control message and waits for its answer. */
  request<M extends SfuMethod>(
    message: Extract<SfuRequest, { method: M }>,
  ): Promise<SfuResponse<M>> {
    if (this.#closed) return Promise.reject(new SfuError('SFU_CLOSED'));
    const socket = this.#socket;
    if (!this.#open || !socket) return Promise.reject(unavailable('not connected'));
    const id = this.#nextId++;
    const timeoutMs = this.#options.requestTimeoutMs ?? 10_000;
    return new Promise<SfuResponse<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(unavailable(`no answer to ${message.method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      socket.send(JSON.stringify({ id, request: message } satisfies ClientFrame));
    });
  }

  createChannel(
    channelId: string,
    options: { recording?: RecordingOptions | null } = {},
  ): Promise<SfuResponse<'createChannel'>> {
    return this.request({ method: 'createChannel', channelId, ...options });
  }

  async closeChannel(channelId: string): Promise<boolean> {
    return (await this.request({ method: 'closeChannel', channelId })).closed;
  }

  join(channelId: string, participantId: string): Promise<SfuResponse<'join'>> {
    return this.request({ method: 'join', channelId, participantId });
  }

  async leave(channelId: string, participantId: string): Promise<boolean> {
    return (await this.request({ method: 'leave', channelId, participantId })).left;
  }

  createTransport(
    channelId: string,
    participantId: string,
    kind: TransportKind,
    options: { comedia?: boolean } = {},
  ): Promise<TransportInfo> {
    return this.request({ method: 'createTransport', channelId, participantId, kind, ...options });
  }

  connectTransport(
    channelId: string,
    participantId: string,
    transportId: string,
    parameters: { dtlsParameters?: types.DtlsParameters; ip?: string; port?: number },
  ): Promise<SfuResponse<'connectTransport'>> {
    return this.request({
      method: 'connectTransport',
      channelId,
      participantId,
      transportId,
      ...parameters,
    });
  }

  produce(
    channelId: string,
    participantId: string,
    transportId: string,
    rtpParameters: types.RtpParameters,
  ): Promise<SfuResponse<'produce'>> {
    return this.request({
      method: 'produce',
      channelId,
      participantId,
      transportId,
      rtpParameters,
    });
  }

  consume(
    channelId: string,
    participantId: string,
    transportId: string,
    producerId: string,
    rtpCapabilities: types.RtpCapabilities,
    options: { paused?: boolean } = {},
  ): Promise<ConsumerInfo> {
    return this.request({
      method: 'consume',
      channelId,
      participantId,
      transportId,
      producerId,
      rtpCapabilities,
      ...options,
    });
  }

  pauseProducer(channelId: string, participantId: string): Promise<SfuResponse<'pauseProducer'>> {
    return this.request({ method: 'pauseProducer', channelId, participantId });
  }

  resumeProducer(channelId: string, participantId: string): Promise<SfuResponse<'resumeProducer'>> {
    return this.request({ method: 'resumeProducer', channelId, participantId });
  }

  pauseConsumer(
    channelId: string,
    participantId: string,
    consumerId: string,
  ): Promise<SfuResponse<'pauseConsumer'>> {
    return this.request({ method: 'pauseConsumer', channelId, participantId, consumerId });
  }

  resumeConsumer(
    channelId: string,
    participantId: string,
    consumerId: string,
  ): Promise<SfuResponse<'resumeConsumer'>> {
    return this.request({ method: 'resumeConsumer', channelId, participantId, consumerId });
  }

  grantFloor(
    channelId: string,
    producerId: string,
    options: { talker?: string } = {},
  ): Promise<SfuResponse<'grantFloor'>> {
    return this.request({ method: 'grantFloor', channelId, producerId, ...options });
  }

  releaseFloor(channelId: string): Promise<SfuResponse<'releaseFloor'>> {
    return this.request({ method: 'releaseFloor', channelId });
  }

  setRecording(
    channelId: string,
    recording: RecordingOptions | null,
  ): Promise<SfuResponse<'setRecording'>> {
    return this.request({ method: 'setRecording', channelId, recording });
  }

  stats(): Promise<SfuStats> {
    return this.request({ method: 'stats' });
  }

  /** Closes the connection for good; the SFU service keeps running. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#failPending(new SfuError('SFU_CLOSED'));
    this.#socket?.close(1000, 'client closing');
    this.#socket = null;
    this.#open = false;
  }

  // -------------------------------------------------------------------------------------

  #connect(first: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(this.#options.url, {
        headers: { authorization: `Bearer ${this.#options.secret}` },
        maxPayload: 1 << 24,
        handshakeTimeout: 5_000,
      });
      this.#socket = socket;
      let settled = false;
      const settle = (error?: SfuError) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve();
      };

      socket.on('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => {
          const error = refusal(response.statusCode ?? 0, body);
          // Settle first: aborting the handshake emits 'error', which must not win.
          if (first) {
            settle(error);
            this.close();
          } else {
            this.#options.log?.error({ code: error.code }, 'sfu service refused the connection');
          }
          socket.terminate();
        });
      });
      // The service pings every 15 s: silence for 40 s means the link is dead even
      // without a TCP reset (a partition), so give up on it and reconnect.
      let lastHeard = Date.now();
      const watchdog = setInterval(() => {
        if (Date.now() - lastHeard > 40_000) socket.terminate();
      }, 5_000);
      watchdog.unref();
      socket.on('ping', () => (lastHeard = Date.now()));
      socket.on('message', (data) => {
        lastHeard = Date.now();
        this.#onFrame(data.toString(), first, settle);
      });
      socket.on('error', (error) => {
        this.#options.log?.debug({ err: error }, 'sfu control socket error');
        if (first && !settled) {
          this.close();
          settle(unavailable(error.message));
        }
      });
      socket.on('close', () => {
        clearInterval(watchdog);
        if (this.#socket !== socket) return;
        const wasOpen = this.#open;
        this.#open = false;
        this.#failPending(unavailable('connection lost'));
        if (this.#closed) return;
        if (wasOpen) this.#emit({ type: 'sfu.disconnected', error: 'connection lost' });
        this.#scheduleReconnect();
      });
    });
  }

  #onFrame(text: string, first: boolean, settle: (error?: SfuError) => void): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    if (frame.type === 'hello') {
      const restarted = this.#instanceId !== null && this.#instanceId !== frame.instanceId;
      this.#instanceId = frame.instanceId;
      this.#open = true;
      this.#reconnectDelay = 250;
      if (!first) this.#emit({ type: 'sfu.connected', restarted });
      settle();
    } else if (frame.type === 'response') {
      const pending = this.#pending.get(frame.id);
      if (!pending) return;
      this.#pending.delete(frame.id);
      clearTimeout(pending.timer);
      if (frame.ok) pending.resolve(frame.result);
      else pending.reject(toSfuError(frame.error.code, frame.error.message));
    } else if (frame.type === 'notification') {
      this.#emit(frame.notification);
    }
  }

  #scheduleReconnect(): void {
    const delay = this.#reconnectDelay;
    this.#reconnectDelay = Math.min(delay * 2, this.#options.maxReconnectDelayMs ?? 5_000);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#closed) return;
      // Failures end in 'close', which schedules the next attempt.
      this.#connect(false).catch(() => undefined);
    }, delay);
  }

  #failPending(error: SfuError): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.#pending.delete(id);
    }
  }

  #emit(notification: SfuNotification): void {
    try {
      this.#options.onNotification?.(notification);
    } catch (error) {
      this.#options.log?.error(
        { err: error, type: notification.type },
        'notification handler threw',
      );
    }
  }
}

function toSfuError(code: string, message: string): SfuError {
  return code in SFU_ERRORS
    ? new SfuError(code as SfuErrorCode, message)
    : new SfuError('SFU_INTERNAL', message);
}

function refusal(status: number, body: string): SfuError {
  if (status === 401) return new SfuError('SFU_UNAUTHORIZED');
  try {
    const parsed = JSON.parse(body) as { code?: string; message?: string };
    if (parsed.code) return toSfuError(parsed.code, parsed.message ?? '');
  } catch {
    // not our service
  }
  return unavailable(`the server answered HTTP ${status}; is SFU_URL the SFU service's URL?`);
}
