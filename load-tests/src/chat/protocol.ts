/**
 * Messages between the chat bench and its device processes (chat/worker.ts), and the
 * message texts both sides agree on. Times are monotonic milliseconds (`nowMs()`), one
 * clock for every process on the machine, so a receipt taken in one process compares
 * with a send taken in another.
 */
import type { ChatEnvelope, ChatSend } from '@trupp/shared';

export interface ChatDeviceSpec {
  /** Position in the group (0 = the device that creates the MLS group). */
  index: number;
  userId: string;
  deviceId: string;
  token: string;
  /** Also decrypts every message (ChatClient.handleEnvelope) and checks its text. */
  decrypt: boolean;
}

/** Which server the devices' sockets talk to in a phase. */
export type ChatPhase = 'trupp' | 'baseline';

export type ChatWorkerCommand =
  | { cmd: 'setup'; url: string; devices: ChatDeviceSpec[] }
  /** `ChatClient.sync()` on the listed devices (all of this process's when omitted). */
  | { cmd: 'sync'; conversationId: string; only?: number[] }
  /** One real message from each listed device: warms the path, shows the ciphertext size. */
  | { cmd: 'probe'; conversationId: string; only: number[] }
  /**
   * Each sending device of the process encrypts, ahead of the run, every message it will
   * send in it (message k is sent by `senders[k % senders.length]`, k < `total`).
   */
  | { cmd: 'prepare'; conversationId: string; total: number; senders: number[] }
  /** Opens a second socket per device to the baseline relay (`url`), or closes them (null). */
  | { cmd: 'baseline'; url: string | null }
  | {
      cmd: 'run';
      phase: ChatPhase;
      conversationId: string;
      /** When message 0 is due (monotonic ms); message k is due at startAt + k · 1000 / rate. */
      startAt: number;
      rate: number;
      /** Messages in the whole run (warm-up included). */
      total: number;
      /** Message k is sent by the device with index `senders[k % senders.length]`. */
      senders: number[];
      /** Baseline: opaque payload of the same length as Trupp's ciphertext (base64 chars). */
      payloadChars: number;
    }
  | { cmd: 'counts' }
  | { cmd: 'collect' }
  | { cmd: 'close' };

export interface ChatSetupResult {
  /** Per device in this process: ms for `init()` (identity, key packages) and connect. */
  initMs: number[];
  connected: number;
}

export interface ChatPrepareResult {
  /** ms per message for `ChatClient.prepare()` (encrypt and save), in preparation order. */
  encryptMs: number[];
  /** The epochs the messages were encrypted at (one, unless a commit came in between). */
  epochs: number[];
  /** Largest ciphertext, base64 characters. */
  payloadChars: number;
  errors: string[];
}

export interface ChatSyncResult {
  /** Per device synced: index, ms, local epoch afterwards (null = not in the group). */
  devices: Array<{ index: number; ms: number; epoch: number | null }>;
  errors: string[];
}

/** One sent message, as the sending process saw it. */
export interface ChatSent {
  k: number;
  device: number;
  /**
   * Due (the user pressed send); handed to its device by the schedule loop (late only
   * when the generator is); taken up by the device (later when its previous message was
   * still unacknowledged: a device has one message in flight); handed to the socket (the
   * message was encrypted before the run: `ChatClient.sendPrepared`); acknowledged
   * (NaN = no ack).
   */
  dueAt: number;
  queuedAt: number;
  startAt: number;
  emitAt: number;
  ackAt: number;
  /** The server's seq (NaN when refused or never acknowledged). */
  seq: number;
  payloadChars: number;
  error: string | null;
}

export interface ChatCounts {
  /** Distinct seqs received over the sockets of this phase, summed over devices. */
  received: number;
  decrypted: number;
  /** Messages the sending loop of this process has finished (acknowledged or failed). */
  sendsDone: number;
}

/** Receipts of one device in the current phase (cleared by `collect`). */
export interface ChatReceipts {
  index: number;
  /** Distinct seqs and their first socket arrival (monotonic ms), in arrival order. */
  seqs: Float64Array;
  at: Float64Array;
  /** Arrivals of a seq this socket had already received. */
  duplicates: number;
  /** Decrypting devices: seq, decrypted-at and the message number k read from the text. */
  decrypted?: { seqs: Float64Array; at: Float64Array; ks: Float64Array };
  /** Texts that decrypted but were not what message k carries. */
  garbled: number;
  /** ChatClient 'error' events by reason (undecryptable, invalid_content, …). */
  clientErrors: Record<string, number>;
}

export interface ChatCollected {
  sent: ChatSent[];
  receipts: ChatReceipts[];
  errors: string[];
}

/**
 * Inside a device process: its sockets live on the main thread (so arrivals are
 * timestamped without waiting behind cryptography), its ChatClients on one MLS thread
 * (chat/mls-thread.ts). Calls from the main thread to the MLS thread:
 */
export type MlsCall =
  /** Creates the device's ChatClient and runs `init()`; resolves with the ms it took. */
  | { op: 'init'; url: string; spec: ChatDeviceSpec }
  | { op: 'sync'; index: number; conversationId: string }
  /** Encrypts and sends message k (its `chat.send` comes back as a `SocketCall`). */
  | { op: 'send'; index: number; conversationId: string; k: number }
  /** Encrypts messages `ks` ahead (`ChatClient.prepare`); resolves with `MlsPrepareResult`. */
  | { op: 'prepare'; index: number; conversationId: string; ks: number[] }
  /** Sends prepared message k unchanged (`ChatClient.sendPrepared`), as a `SocketCall`. */
  | { op: 'sendPrepared'; index: number; k: number };

export interface MlsPrepareResult {
  encryptMs: number[];
  epochs: number[];
  payloadChars: number;
}

export interface MlsSyncResult {
  ms: number;
  epoch: number | null;
  error: string | null;
}

/** One way, main → MLS thread: a pushed envelope for a decrypting device. */
export type MlsEvent = { op: 'envelope'; index: number; envelope: ChatEnvelope };

/** MLS thread → main: put this `chat.send` on the device's socket; resolves with the ack data. */
export type SocketCall = { op: 'emit'; index: number; message: ChatSend };

/** One way, MLS thread → main. `at` is taken on the MLS thread (same monotonic clock). */
export type SocketEvent =
  | { op: 'decrypted'; index: number; seq: number; at: number; k: number; intact: boolean }
  | { op: 'clientError'; index: number; reason: string; message: string };

/** Characters of every benchmark message text: a short chat message. */
export const TEXT_CHARS = 160;

/** The text of message k: its number, then filler that depends on k (so a mix-up shows). */
export function messageText(k: number): string {
  const head = `bench message ${k}: `;
  let filler = '';
  for (let i = 0; filler.length < TEXT_CHARS - head.length; i++) {
    filler += ((k * 2_654_435_761 + i * 40_503) >>> 0).toString(36) + ' ';
  }
  return head + filler.slice(0, TEXT_CHARS - head.length);
}

/** The message number a text claims to be, if it is exactly that message's text. */
export function checkText(text: string): { k: number; intact: boolean } | null {
  const match = /^bench message (\d+): /.exec(text);
  if (!match) return null;
  const k = Number(match[1]);
  return { k, intact: messageText(k) === text };
}
