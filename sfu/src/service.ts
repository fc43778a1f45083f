import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { SFU_ERRORS, SfuError, sfuError } from './errors.ts';
import type { SfuApi, SfuNotification } from './signaling.ts';
import { parseRequest } from './validate.ts';
import {
  MAX_FRAME_BYTES,
  SFU_CONTROL_PATH,
  SFU_PROTOCOL_VERSION,
  type ClientFrame,
  type ServerFrame,
} from './wire.ts';

export interface SfuServiceOptions {
  /** The in-process SFU whose API is served. */
  readonly api: SfuApi;
  readonly host: string;
  /** 0: any free port (tests). */
  readonly port: number;
  /** Shared secret every client must present (`Authorization: Bearer <secret>`). */
  readonly secret: string;
  readonly log: Logger;
  /** Ping interval; a client that misses a pong is dropped. Default 15 s. */
  readonly heartbeatMs?: number;
}

export interface SfuService {
  /** `ws://host:port/sfu/v1`, what a backend's SFU_URL is set to. */
  readonly url: string;
  readonly port: number;
  readonly instanceId: string;
  /** Sends a notification to every connected backend. */
  notify(notification: SfuNotification): void;
  /** Stops accepting and closes every connection (the SFU itself keeps running). */
  close(): Promise<void>;
}

/** Constant-time comparison that does not leak the secret's length either. */
function secretMatches(given: string, secret: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

function refuse(socket: Duplex, status: number, code: 'SFU_UNAUTHORIZED' | 'SFU_BAD_REQUEST') {
  const body = JSON.stringify({ code, message: SFU_ERRORS[code].message, statusCode: status });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Not Found'}\r\n` +
      'Content-Type: application/json\r\nConnection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * The SFU's control API over the network (`npm run start:sfu`): a WebSocket at
 * `SFU_CONTROL_PATH`, authenticated by the shared secret during the upgrade, carrying
 * the same requests, responses and notifications as `Server.request()` (wire.ts). Every
 * request is validated (validate.ts) before it reaches the SFU; failures answer with the
 * SfuError's `{ code, message, statusCode }`, unexpected ones as SFU_INTERNAL without
 * details. `GET /healthz` answers without authentication, for probes.
 */
export async function startSfuService(options: SfuServiceOptions): Promise<SfuService> {
  const { api, log, secret } = options;
  if (secret.length === 0) throw new Error('The SFU service needs a non-empty secret.');
  const instanceId = randomUUID();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const alive = new WeakSet<WebSocket>();

  const http = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/healthz') {
      response.writeHead(api.closed ? 503 : 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: !api.closed, instanceId }));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ code: 'SFU_BAD_REQUEST', message: 'Not found.', statusCode: 404 }),
    );
  });

  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://sfu').pathname;
    if (path !== SFU_CONTROL_PATH) return refuse(socket, 404, 'SFU_BAD_REQUEST');
    const header = request.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!secretMatches(given, secret)) {
      log.warn(
        { remote: request.socket.remoteAddress },
        'sfu control connection refused: bad secret',
      );
      return refuse(socket, 401, 'SFU_UNAUTHORIZED');
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  const send = (ws: WebSocket, frame: ServerFrame) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  };

  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    const remote = request.socket.remoteAddress;
    log.info({ remote }, 'sfu control connection');
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.on('error', (error) => log.warn({ err: error, remote }, 'sfu control connection error'));
    ws.on('close', () => log.info({ remote }, 'sfu control connection closed'));
    send(ws, { type: 'hello', instanceId, version: SFU_PROTOCOL_VERSION });
    ws.on('message', (data, isBinary) => {
      let frame: ClientFrame;
      try {
        if (isBinary) throw new Error('binary frame');
        frame = JSON.parse(data.toString()) as ClientFrame;
        if (typeof frame !== 'object' || frame === null || !Number.isSafeInteger(frame.id)) {
          throw new Error('no id');
        }
      } catch {
        // Without an id nothing can be answered: the peer is not speaking this protocol.
        ws.close(1008, 'expected { id, request } JSON frames');
        return;
      }
      void (async () => {
        try {
          const request = parseRequest(frame.request);
          const result = await api.request(request);
          send(ws, { type: 'response', id: frame.id, ok: true, result });
        } catch (error) {
          const failure = error instanceof SfuError ? error : sfuError('SFU_INTERNAL');
          if (!(error instanceof SfuError) || failure.reportable) {
            log.error(
              { err: error, method: (frame.request as { method?: unknown })?.method },
              'sfu request failed',
            );
          }
          send(ws, { type: 'response', id: frame.id, ok: false, error: failure.toBody() });
        }
      })();
    });
  });

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, options.heartbeatMs ?? 15_000);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `ws://${host}:${port}${SFU_CONTROL_PATH}`;
  log.info({ url }, 'sfu control api listening');

  return {
    url,
    port,
    instanceId,
    notify(notification) {
      const text = JSON.stringify({ type: 'notification', notification } satisfies ServerFrame);
      for (const ws of wss.clients) if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    async close() {
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.close(1001, 'sfu service stopping');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
