import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { POSITION_CLIENT_EVENTS, POSITION_SERVER_EVENTS } from '@trupp/shared';

/**
 * The positions baseline, run as its own process: plain socket.io, no domain logic. It
 * acknowledges every `position.report` as stored and relays it to the sockets that sent
 * `positions.subscribe`, gathered per tick into one `positions.updated` array — the same
 * messages, the same batching as Trupp, without validation, authentication, sharing
 * rules, cache or database. Prints its port on stdout when listening.
 */
const TICK_MS = 50;
const CONSOLES = 'consoles';

interface Report {
  lat: number;
  lon: number;
  accuracy: number;
  heading?: number | null;
  speed?: number | null;
  recordedAt: string;
}

const http = createServer();
const io = new Server(http, { serveClient: false, transports: ['websocket'] });
let batch: unknown[] = [];
let timer: NodeJS.Timeout | null = null;

io.on('connection', (socket) => {
  socket.on(POSITION_CLIENT_EVENTS.subscribe, (_body: unknown, ack?: (a: unknown) => void) => {
    void socket.join(CONSOLES);
    ack?.({ ok: true, data: { positions: [] } });
  });
  socket.on(POSITION_CLIENT_EVENTS.report, (r: Report, ack?: (a: unknown) => void) => {
    batch.push({
      // The device's token stands in for its member (the bench keys the baseline by it).
      userId: String((socket.handshake.auth as { token?: unknown }).token ?? socket.id),
      lat: r.lat,
      lon: r.lon,
      accuracyM: Math.round(r.accuracy),
      recordedAt: r.recordedAt,
      heading: r.heading ?? null,
      speedKmh: r.speed == null ? null : Math.round(r.speed * 3.6),
    });
    timer ??= setTimeout(() => {
      timer = null;
      const out = batch;
      batch = [];
      io.to(CONSOLES).emit(POSITION_SERVER_EVENTS.batch, out);
    }, TICK_MS);
    ack?.({ ok: true, data: { stored: true } });
  });
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
