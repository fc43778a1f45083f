import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * The physical baseline, run as its own process: a raw `ws` server. `POST /broadcast`
 * with a text body builds one unmasked WebSocket text frame and writes that same buffer
 * to every connected socket, then answers 204. Prints its port on stdout when listening.
 */
function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const header =
    n < 126
      ? Buffer.from([0x81, n])
      : n < 65_536
        ? Buffer.from([0x81, 126, n >> 8, n & 0xff])
        : (() => {
            const h = Buffer.alloc(10);
            h[0] = 0x81;
            h[1] = 127;
            h.writeBigUInt64BE(BigInt(n), 2);
            return h;
          })();
  return Buffer.concat([header, payload]);
}

const http = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/broadcast') {
    response.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const frame = textFrame(Buffer.concat(chunks));
    for (const client of wss.clients) {
      // The raw TCP socket under the ws connection; ws itself would frame per socket.
      (client as unknown as { _socket: Socket })._socket.write(frame);
    }
    response.writeHead(204).end();
  });
});
const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
