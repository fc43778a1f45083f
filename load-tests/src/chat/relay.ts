import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { CHAT_CLIENT_EVENTS, CHAT_EVENTS, type ChatEnvelope, type ChatSend } from '@trupp/shared';

/**
 * The chat baseline, run as its own process: plain socket.io with Trupp's message
 * pattern and nothing else. A `chat.send` gets the next seq, goes to every connected
 * socket as a `chat.message` envelope of the same shape and size (one room emit: the
 * packet is encoded once), then is acknowledged — the order Trupp uses. No
 * authentication, validation, database or MLS. Prints its port on stdout when listening.
 */
const GROUP = 'group';
const http = createServer();
const io = new Server(http, { serveClient: false, transports: ['websocket'] });
let seq = 0;

io.on('connection', (socket) => {
  void socket.join(GROUP);
  const auth = socket.handshake.auth as { userId?: string; deviceId?: string };
  const senderUserId = auth.userId ?? randomUUID();
  const senderDeviceId = auth.deviceId ?? randomUUID();
  socket.on(CHAT_CLIENT_EVENTS.send, (message: ChatSend, ack?: (a: unknown) => void) => {
    seq++;
    const envelope: ChatEnvelope = {
      id: randomUUID(),
      conversationId: message.conversationId,
      seq,
      kind: 'application',
      epoch: message.epoch,
      senderUserId,
      senderDeviceId,
      payload: message.payload,
      createdAt: new Date().toISOString(),
    };
    io.to(GROUP).emit(CHAT_EVENTS.message, envelope);
    ack?.({ ok: true, data: { id: envelope.id, seq, createdAt: envelope.createdAt } });
  });
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
