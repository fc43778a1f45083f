import { randomBytes, randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import {
  CHAT_CLIENT_EVENTS,
  CHAT_EVENTS,
  CHAT_LIMITS,
  type ChatEnvelope,
  type ChatSend,
  type ChatSendResult,
  type SocketAck,
} from '@trupp/shared';
import { nowMs } from '../lib/device.ts';
import {
  CodedError,
  PortChannel,
  reportProgress,
  serveParent,
  startTsThread,
} from '../lib/pool.ts';
import type {
  ChatCollected,
  ChatCounts,
  ChatDeviceSpec,
  ChatPhase,
  ChatPrepareResult,
  ChatReceipts,
  ChatSent,
  ChatSetupResult,
  ChatSyncResult,
  ChatWorkerCommand,
  MlsCall,
  MlsEvent,
  MlsPrepareResult,
  MlsSyncResult,
  SocketCall,
  SocketEvent,
} from './protocol.ts';

/**
 * One device process of the chat bench. Each device has one socket.io socket, held on
 * this main thread, that receives every `chat.message` of the group (timestamped first
 * thing in the handler) and carries the device's `chat.send`; its ChatClient lives on
 * the process's MLS thread (chat/mls-thread.ts), which encrypts (the run's messages
 * ahead of it, `prepare`), and decrypts for the sampled devices, without holding up the
 * arrivals here.
 */
interface Device {
  spec: ChatDeviceSpec;
  socket: Socket;
  /** The second socket, to the baseline relay, while the baseline runs. */
  relay: Socket | null;
  /** The message whose send is in progress (a device sends one after another). */
  inFlight: ChatSent | null;
  chain: Promise<void>;
  seen: Set<number>;
  seqs: number[];
  at: number[];
  duplicates: number;
  decrypted: { seqs: number[]; at: number[]; ks: number[] };
  garbled: number;
  clientErrors: Record<string, number>;
}

const ACK_TIMEOUT_MS = 30_000;
/**
 * A message still queued on its device this long after the schedule ended is not sent
 * (counted as failed, 'BENCH_ABANDONED'): a server that acknowledges far slower than the
 * rate would otherwise keep the run going for many minutes.
 */
const GIVE_UP_AFTER_MS = 60_000;

const devices = new Map<number, Device>();
let recording: ChatPhase | null = null;
let sent: ChatSent[] = [];
let sendsDone = 0;
const errors = new Set<string>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const note = (error: unknown) => {
  if (errors.size < 20) errors.add(error instanceof Error ? error.message : String(error));
};

const mls = new PortChannel<MlsCall, MlsEvent, SocketCall, SocketEvent>(
  startTsThread(new URL('./mls-thread.ts', import.meta.url)),
  {
    call: (call) => emitFor(devices.get(call.index)!, call.message),
    event: (event) => {
      const device = devices.get(event.index);
      if (!device) return;
      if (event.op === 'clientError') {
        device.clientErrors[event.reason] = (device.clientErrors[event.reason] ?? 0) + 1;
        note(event.message);
        return;
      }
      if (recording !== 'trupp') return;
      if (!event.intact) device.garbled++;
      device.decrypted.seqs.push(event.seq);
      device.decrypted.at.push(event.at);
      device.decrypted.ks.push(event.k);
    },
  },
);

async function emitSend(socket: Socket, message: ChatSend): Promise<ChatSendResult> {
  const ack = (await socket
    .timeout(ACK_TIMEOUT_MS)
    .emitWithAck(CHAT_CLIENT_EVENTS.send, message)) as SocketAck<ChatSendResult>;
  if (!ack.ok) throw new CodedError(ack.error.code, ack.error.message);
  return ack.data;
}

/** A ChatClient's `chat.send`, stamped on the message in flight (a retry stamps it again). */
async function emitFor(device: Device, message: ChatSend): Promise<ChatSendResult> {
  const current = device.inFlight;
  if ((message.payload.length * 3) / 4 > CHAT_LIMITS.socketMessageBytes) {
    throw new CodedError('BENCH_TOO_LARGE', 'payload larger than a socket message may be');
  }
  if (current) {
    current.emitAt = nowMs();
    current.payloadChars = message.payload.length;
  }
  const result = await emitSend(device.socket, message);
  if (current) {
    current.ackAt = nowMs();
    current.seq = result.seq;
  }
  return result;
}

function connect(url: string, auth: Record<string, string>): Promise<Socket> {
  const socket = io(url, {
    transports: ['websocket'],
    auth,
    // Every device is its own connection (no shared Manager per URL).
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => reject(error));
  });
}

function record(device: Device, seq: number, at: number): void {
  if (device.seen.has(seq)) {
    device.duplicates++;
    return;
  }
  device.seen.add(seq);
  device.seqs.push(seq);
  device.at.push(at);
}

async function setup(
  command: Extract<ChatWorkerCommand, { cmd: 'setup' }>,
): Promise<ChatSetupResult> {
  const initMs: number[] = [];
  // One after another: key package generation is CPU work, concurrency would only interleave it.
  for (const spec of command.devices) {
    const started = nowMs();
    const socket = await connect(command.url, { token: spec.token });
    const device: Device = {
      spec,
      socket,
      relay: null,
      inFlight: null,
      chain: Promise.resolve(),
      seen: new Set(),
      seqs: [],
      at: [],
      duplicates: 0,
      decrypted: { seqs: [], at: [], ks: [] },
      garbled: 0,
      clientErrors: {},
    };
    devices.set(spec.index, device);
    await mls.call<number>({ op: 'init', url: command.url, spec });
    socket.on(CHAT_EVENTS.message, (envelope: ChatEnvelope) => {
      const at = nowMs();
      if (recording === 'trupp') record(device, envelope.seq, at);
      if (spec.decrypt) mls.emit({ op: 'envelope', index: spec.index, envelope });
    });
    initMs.push(nowMs() - started);
    reportProgress(initMs.length);
  }
  return { initMs, connected: devices.size };
}

async function sync(command: Extract<ChatWorkerCommand, { cmd: 'sync' }>): Promise<ChatSyncResult> {
  const result: ChatSyncResult = { devices: [], errors: [] };
  for (const index of command.only ?? [...devices.keys()]) {
    if (!devices.has(index)) continue;
    const synced = await mls.call<MlsSyncResult>({
      op: 'sync',
      index,
      conversationId: command.conversationId,
    });
    if (synced.error) result.errors.push(`device ${index}: ${synced.error}`);
    result.devices.push({ index, ms: synced.ms, epoch: synced.epoch });
    reportProgress(result.devices.length);
  }
  return result;
}

function blankSent(k: number, device: number, dueAt: number): ChatSent {
  return {
    k,
    device,
    dueAt,
    queuedAt: NaN,
    startAt: NaN,
    emitAt: NaN,
    ackAt: NaN,
    seq: NaN,
    payloadChars: 0,
    error: null,
  };
}

async function probe(command: Extract<ChatWorkerCommand, { cmd: 'probe' }>): Promise<number[]> {
  const sizes: number[] = [];
  for (const index of command.only) {
    const device = devices.get(index);
    if (!device) continue;
    const probe = blankSent(-1, index, nowMs());
    device.inFlight = probe;
    await mls.call({ op: 'send', index, conversationId: command.conversationId, k: 0 });
    device.inFlight = null;
    sizes.push(probe.payloadChars);
  }
  return sizes;
}

/** Encrypts every message this process's devices send in the run, before it starts. */
async function prepare(
  command: Extract<ChatWorkerCommand, { cmd: 'prepare' }>,
): Promise<ChatPrepareResult> {
  const result: ChatPrepareResult = { encryptMs: [], epochs: [], payloadChars: 0, errors: [] };
  const ks = new Map<number, number[]>();
  for (let k = 0; k < command.total; k++) {
    const index = command.senders[k % command.senders.length]!;
    if (!devices.has(index)) continue;
    const mine = ks.get(index) ?? [];
    mine.push(k);
    ks.set(index, mine);
  }
  for (const [index, mine] of ks) {
    try {
      const done = await mls.call<MlsPrepareResult>({
        op: 'prepare',
        index,
        conversationId: command.conversationId,
        ks: mine,
      });
      result.encryptMs.push(...done.encryptMs);
      for (const epoch of done.epochs)
        if (!result.epochs.includes(epoch)) result.epochs.push(epoch);
      result.payloadChars = Math.max(result.payloadChars, done.payloadChars);
    } catch (error) {
      result.errors.push(`device ${index}: ${String(error)}`);
    }
    reportProgress(result.encryptMs.length);
  }
  return result;
}

async function baseline(command: Extract<ChatWorkerCommand, { cmd: 'baseline' }>): Promise<number> {
  for (const device of devices.values()) {
    device.relay?.close();
    device.relay = null;
  }
  if (command.url === null) return 0;
  for (const device of devices.values()) {
    const relay = await connect(command.url, {
      userId: device.spec.userId,
      deviceId: device.spec.deviceId,
    });
    relay.on(CHAT_EVENTS.message, (envelope: ChatEnvelope) => {
      const at = nowMs();
      if (recording === 'baseline') record(device, envelope.seq, at);
    });
    device.relay = relay;
  }
  return devices.size;
}

async function sendOne(
  device: Device,
  message: ChatSent,
  command: Extract<ChatWorkerCommand, { cmd: 'run' }>,
  opaque: string,
  giveUpAt: number,
): Promise<void> {
  message.startAt = nowMs();
  try {
    if (message.startAt > giveUpAt) throw new CodedError('BENCH_ABANDONED', 'not sent');
    if (command.phase === 'trupp') {
      device.inFlight = message;
      // Encrypted before the run (`prepare`): the client only hands it to the socket.
      await mls.call({ op: 'sendPrepared', index: device.spec.index, k: message.k });
    } else {
      message.emitAt = message.startAt;
      message.payloadChars = opaque.length;
      const result = await emitSend(device.relay!, {
        conversationId: command.conversationId,
        clientId: randomUUID(),
        epoch: 1,
        payload: opaque,
      });
      message.ackAt = nowMs();
      message.seq = result.seq;
    }
  } catch (error) {
    message.error = error instanceof CodedError ? error.code : String(error);
    if (message.error !== 'BENCH_ABANDONED') note(error);
  } finally {
    device.inFlight = null;
    sendsDone++;
  }
}

/**
 * The open-loop schedule: message k is due at startAt + k / rate whatever happened to
 * the ones before it; a device's own messages go out one after another, as its
 * ChatClient serializes them anyway.
 */
async function run(command: Extract<ChatWorkerCommand, { cmd: 'run' }>): Promise<number> {
  recording = command.phase;
  sent = [];
  sendsDone = 0;
  // Same length as Trupp's ciphertext; the relay never looks inside.
  const opaque = randomBytes(Math.ceil((command.payloadChars * 3) / 4))
    .toString('base64')
    .slice(0, command.payloadChars);
  const mine: number[] = [];
  for (let k = 0; k < command.total; k++) {
    if (devices.has(command.senders[k % command.senders.length]!)) mine.push(k);
  }
  const interval = 1000 / command.rate;
  const giveUpAt = command.startAt + command.total * interval + GIVE_UP_AFTER_MS;
  for (const k of mine) {
    const dueAt = command.startAt + k * interval;
    const wait = dueAt - nowMs();
    if (wait >= 1) await sleep(wait);
    const device = devices.get(command.senders[k % command.senders.length]!)!;
    const message = blankSent(k, device.spec.index, dueAt);
    message.queuedAt = nowMs();
    sent.push(message);
    device.chain = device.chain.then(() => sendOne(device, message, command, opaque, giveUpAt));
    if (sent.length % 200 === 0) reportProgress(sent.length);
  }
  await Promise.all([...devices.values()].map((d) => d.chain));
  return mine.length;
}

function counts(): ChatCounts {
  let received = 0;
  let decrypted = 0;
  for (const d of devices.values()) {
    received += d.seqs.length;
    decrypted += d.decrypted.seqs.length;
  }
  return { received, decrypted, sendsDone };
}

function collect(): ChatCollected {
  const receipts: ChatReceipts[] = [...devices.values()].map((d) => ({
    index: d.spec.index,
    seqs: Float64Array.from(d.seqs),
    at: Float64Array.from(d.at),
    duplicates: d.duplicates,
    ...(d.spec.decrypt
      ? {
          decrypted: {
            seqs: Float64Array.from(d.decrypted.seqs),
            at: Float64Array.from(d.decrypted.at),
            ks: Float64Array.from(d.decrypted.ks),
          },
        }
      : {}),
    garbled: d.garbled,
    clientErrors: d.clientErrors,
  }));
  const out: ChatCollected = { sent, receipts, errors: [...errors] };
  recording = null;
  sent = [];
  sendsDone = 0;
  errors.clear();
  for (const d of devices.values()) {
    d.seen.clear();
    d.seqs = [];
    d.at = [];
    d.duplicates = 0;
    d.decrypted = { seqs: [], at: [], ks: [] };
    d.garbled = 0;
    d.clientErrors = {};
  }
  return out;
}

serveParent<ChatWorkerCommand>(async (command) => {
  switch (command.cmd) {
    case 'setup':
      return setup(command);
    case 'sync':
      return sync(command);
    case 'probe':
      return probe(command);
    case 'prepare':
      return prepare(command);
    case 'baseline':
      return baseline(command);
    case 'run':
      return run(command);
    case 'counts':
      return counts();
    case 'collect':
      return collect();
    case 'close':
      for (const d of devices.values()) {
        d.socket.close();
        d.relay?.close();
      }
      devices.clear();
      return null;
  }
});
