import { createServer } from 'node:http';
import { Server } from 'socket.io';

/**
 * The ptt-floor baseline, run as its own process: plain socket.io with the same message
 * pattern as Trupp's floor control and no domain logic — a request or release is
 * acknowledged at once and a small state message goes to the channel's room (Trupp
 * sends `ptt.floor` there). No authentication, no floor store, no SFU. Prints its port on
 * stdout when listening.
 */
const http = createServer();
const io = new Server(http, { serveClient: false, transports: ['websocket'] });

io.on('connection', (socket) => {
  socket.on('echo.join', (body: { channelId: string }, ack?: (a: unknown) => void) => {
    void socket.join(body.channelId);
    ack?.({ ok: true, data: null });
  });
  const floor = (outcome: string) => (body: { channelId: string }, ack?: (a: unknown) => void) => {
    ack?.({ ok: true, data: { outcome } });
    io.to(body.channelId).emit('ptt.floor', {
      channelId: body.channelId,
      holder: null,
      queueLength: 0,
    });
  };
  socket.on('echo.request', floor('granted'));
  socket.on('echo.release', floor('released'));
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
