import { createSocket, type Socket } from 'node:dgram';
import {
  HISTOGRAM_BIN_MS,
  HISTOGRAM_MAX_MS,
  PAYLOAD_MIN_BYTES,
  PAYLOAD_SENT_AT_OFFSET,
  PAYLOAD_TOC,
  PAYLOAD_WINDOW_OFFSET,
  type Endpoint,
  type PeerReply,
  type PeerRequest,
  type TalkStream,
  type WindowStats,
} from './protocol.ts';

/**
 * An RTP peer process for the SFU benchmarks, driven over IPC (protocol.ts): a talker, a
 * receiver of many listener sockets, or the raw UDP relay baseline. Kept in its own
 * process so its work is not counted as the SFU's and does not slow the bench's control.
 */
const reply = (message: PeerReply) => process.send!(message);
const now = () => process.hrtime.bigint();

// ---- talker -------------------------------------------------------------------------

interface Stream extends TalkStream {
  seq: number;
  timestamp: number;
}
let streams: Stream[] = [];
let talkSocket: Socket | null = null;
let talkTimer: NodeJS.Timeout | null = null;
let currentWindow = 0;
let payloadBytes = 80;
let payloadType = 100;
const sentPerWindow = new Map<number, number>();

function startTalking(list: TalkStream[], pt: number, bytes: number): void {
  streams = list.map((stream) => ({
    ...stream,
    seq: Math.floor(Math.random() * 0xffff),
    timestamp: Math.floor(Math.random() * 0xffffffff),
  }));
  payloadType = pt;
  payloadBytes = Math.max(PAYLOAD_MIN_BYTES, bytes);
  talkSocket = createSocket('udp4');
  // Drift-free 20 ms clock: each tick is scheduled from the start, not from the last tick.
  const start = performance.now();
  let tick = 0;
  const step = () => {
    tick += 1;
    for (const stream of streams) sendPacket(stream);
    talkTimer = setTimeout(step, Math.max(0, start + tick * 20 - performance.now()));
  };
  step();
}

function sendPacket(stream: Stream): void {
  const packet = Buffer.alloc(12 + payloadBytes);
  packet[0] = 0x80;
  packet[1] = payloadType & 0x7f;
  packet.writeUInt16BE(stream.seq, 2);
  packet.writeUInt32BE(stream.timestamp >>> 0, 4);
  packet.writeUInt32BE(stream.ssrc >>> 0, 8);
  packet[12] = PAYLOAD_TOC;
  packet.writeUInt32BE(currentWindow, 12 + PAYLOAD_WINDOW_OFFSET);
  packet.writeBigUInt64BE(now(), 12 + PAYLOAD_SENT_AT_OFFSET);
  stream.seq = (stream.seq + 1) & 0xffff;
  stream.timestamp = (stream.timestamp + 960) >>> 0;
  talkSocket!.send(packet, stream.target.port, stream.target.ip);
  sentPerWindow.set(currentWindow, (sentPerWindow.get(currentWindow) ?? 0) + 1);
}

// ---- receiver -----------------------------------------------------------------------

interface Window {
  received: number;
  histogram: Uint32Array;
  maxMs: number;
  heard: Uint8Array;
}
const sockets: Socket[] = [];
const firstAt: bigint[] = [];
const windows = new Map<number, Window>();
const BINS = Math.ceil(HISTOGRAM_MAX_MS / HISTOGRAM_BIN_MS) + 1;
const MAX_SOCKETS = 100_000;

function windowOf(id: number): Window {
  let window = windows.get(id);
  if (!window) {
    window = {
      received: 0,
      histogram: new Uint32Array(BINS),
      maxMs: 0,
      heard: new Uint8Array(MAX_SOCKETS),
    };
    windows.set(id, window);
  }
  return window;
}

function onPacket(index: number, message: Buffer): void {
  const at = now();
  if (message.length < 12 || message[0]! >> 6 !== 2) return;
  const pt = message[1]! & 0x7f;
  if (pt >= 72 && pt <= 79) return; // RTCP multiplexed on the port
  let offset = 12 + (message[0]! & 0x0f) * 4;
  if (message[0]! & 0x10) offset += 4 + message.readUInt16BE(offset + 2) * 4;
  if (message.length < offset + PAYLOAD_MIN_BYTES || message[offset] !== PAYLOAD_TOC) return;
  if (firstAt[index] === 0n) firstAt[index] = at;
  const window = windowOf(message.readUInt32BE(offset + PAYLOAD_WINDOW_OFFSET));
  const sentAt = message.readBigUInt64BE(offset + PAYLOAD_SENT_AT_OFFSET);
  const ms = Number(at - sentAt) / 1e6;
  window.received += 1;
  window.heard[index] = 1;
  window.histogram[Math.min(BINS - 1, Math.max(0, Math.floor(ms / HISTOGRAM_BIN_MS)))]! += 1;
  if (ms > window.maxMs) window.maxMs = ms;
}

async function open(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const index = sockets.length;
    if (index >= MAX_SOCKETS) throw new Error('too many sockets');
    const socket = createSocket('udp4');
    socket.on('message', (message) => onPacket(index, message));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    sockets.push(socket);
    firstAt.push(0n);
    ports.push(socket.address().port);
  }
  return ports;
}

function collect(id: number): WindowStats {
  const window = windowOf(id);
  const histogram: Array<[number, number]> = [];
  window.histogram.forEach((count, bin) => {
    if (count > 0) histogram.push([bin, count]);
  });
  let silent = 0;
  for (let i = 0; i < sockets.length; i += 1) if (window.heard[i] === 0) silent += 1;
  windows.delete(id);
  return {
    window: id,
    received: window.received,
    histogram,
    maxMs: window.maxMs,
    silentSockets: silent,
  };
}

// ---- relay (baseline) ---------------------------------------------------------------

let relaySocket: Socket | null = null;
/** One connected socket per listener, as the SFU has one transport (socket) per listener. */
const relayOut = new Map<string, Socket>();

async function startRelay(): Promise<number> {
  const socket = createSocket('udp4');
  // What the SFU does per packet, minus the SFU: send the same bytes to every listener.
  // Connected sockets: no per-send address handling (with one unconnected socket and an
  // address per send, Node queued packets for seconds at a few hundred listeners).
  socket.on('message', (message) => {
    for (const out of relayOut.values()) out.send(message);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  relaySocket = socket;
  return socket.address().port;
}

async function relayTo(targets: Endpoint[]): Promise<void> {
  const wanted = new Set(targets.map((t) => `${t.ip}:${t.port}`));
  for (const [key, out] of relayOut) {
    if (!wanted.has(key)) {
      out.close();
      relayOut.delete(key);
    }
  }
  for (const target of targets) {
    const key = `${target.ip}:${target.port}`;
    if (relayOut.has(key)) continue;
    const out = createSocket('udp4');
    await new Promise<void>((resolve) => out.connect(target.port, target.ip, resolve));
    relayOut.set(key, out);
  }
}

// ---- IPC ----------------------------------------------------------------------------

process.on('message', (request: PeerRequest) => {
  void (async () => {
    try {
      let data: unknown = null;
      switch (request.cmd) {
        case 'talk':
          startTalking(request.streams, request.payloadType, request.payloadBytes);
          break;
        case 'retarget':
          streams[request.index]!.target = request.target;
          break;
        case 'window':
          currentWindow = request.window;
          data = Object.fromEntries(sentPerWindow);
          break;
        case 'stop':
          if (talkTimer) clearTimeout(talkTimer);
          talkTimer = null;
          data = Object.fromEntries(sentPerWindow);
          break;
        case 'open':
          data = await open(request.count);
          break;
        case 'collect':
          data = collect(request.window);
          break;
        case 'peek':
          data = windows.get(request.window)?.received ?? 0;
          break;
        case 'firsts': {
          const byPort = new Map(sockets.map((s, i) => [s.address().port, i]));
          data = request.ports.map((port) => {
            const at = firstAt[byPort.get(port) ?? -1];
            return at === undefined || at === 0n ? null : at.toString();
          });
          break;
        }
        case 'relay':
          data = await startRelay();
          break;
        case 'relayTo':
          await relayTo(request.targets);
          break;
        case 'cpu': {
          const usage = process.cpuUsage();
          data = (usage.user + usage.system) / 1e6;
          break;
        }
      }
      reply({ id: request.id, ok: true, data });
    } catch (error) {
      reply({ id: request.id, ok: false, error: (error as Error).message });
    }
  })();
});

process.on('disconnect', () => {
  talkSocket?.close();
  relaySocket?.close();
  for (const out of relayOut.values()) out.close();
  for (const socket of sockets) socket.close();
  process.exit(0);
});
