import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { sfuError } from './errors.ts';
import { OggOpusWriter } from './ogg-opus.ts';
import type { RecordingEndReason, RecordingOptions, SfuNotification } from './signaling.ts';

type RecordingNotification = Extract<
  SfuNotification,
  { type: 'recording.finished' | 'recording.failed' }
>;

export interface RecorderStart {
  readonly router: types.Router;
  readonly producer: types.Producer;
  readonly channelId: string;
  readonly participantId: string;
  /** Label for the talker (display name), stored in the file's tags; default participantId. */
  readonly talker?: string;
  readonly options: RecordingOptions;
  readonly log: Logger;
  readonly onDone: (notification: RecordingNotification) => void;
}

/**
 * Checks a recording directory and creates it.
 * @throws SfuError SFU_BAD_RECORDING_DIRECTORY when it is not absolute or cannot be created
 */
export async function prepareRecordingDirectory(directory: string): Promise<void> {
  if (!isAbsolute(directory)) {
    throw sfuError('SFU_BAD_RECORDING_DIRECTORY', `Not an absolute path: ${directory}`);
  }
  try {
    await mkdir(directory, { recursive: true });
  } catch (error) {
    throw sfuError(
      'SFU_BAD_RECORDING_DIRECTORY',
      `Cannot create the recording directory ${directory}: ${(error as Error).message}`,
    );
  }
}

/**
 * Records one transmission — one floor holder's producer from grant to the end of the
 * turn — into an Ogg Opus file. It consumes the producer through its own DirectTransport
 * (RTP arrives in this process as buffers, nothing touches the network) and writes pages
 * as they complete, so a crash loses at most half a second.
 *
 * The file is created at the first packet: a turn without audio leaves no file and no
 * notification. `stop()` ends the stream (EOS page), closes the file and announces it
 * with `recording.finished` (or `recording.failed` if writing failed).
 */
export class Recorder {
  readonly id = randomUUID();
  readonly producerId: string;
  readonly participantId: string;
  #transport: types.DirectTransport | null = null;
  #writer: OggOpusWriter | null = null;
  #file: WriteStream | null = null;
  #path: string | null = null;
  #startedAt: Date | null = null;
  #bytes = 0;
  #error: Error | null = null;
  #stopping: Promise<void> | null = null;
  #resolveStopped: () => void = () => undefined;
  readonly #stopped = new Promise<void>((resolve) => (this.#resolveStopped = resolve));

  private constructor(private readonly start: RecorderStart) {
    this.producerId = start.producer.id;
    this.participantId = start.participantId;
  }

  /** Resolves once the recording has ended and its file is closed, however it ended. */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  /**
   * Creates the DirectTransport and its consumer; call it *before* resuming the producer
   * so the first packet of the turn is in the file.
   */
  static async start(start: RecorderStart): Promise<Recorder> {
    const recorder = new Recorder(start);
    const transport = await start.router.createDirectTransport({
      maxMessageSize: 262_144, // mediasoup's default; only data channels use it
      appData: { channelId: start.channelId, recorder: recorder.id },
    });
    recorder.#transport = transport;
    try {
      const consumer = await transport.consume({
        producerId: start.producer.id,
        rtpCapabilities: start.router.rtpCapabilities,
        paused: false,
      });
      consumer.on('rtp', (packet) => recorder.#onRtp(packet));
      // Producer gone (talker left, channel rebuilt): end the file with what it has.
      consumer.observer.once('close', () => void recorder.stop('producer.closed'));
    } catch (error) {
      transport.close();
      throw error;
    }
    return recorder;
  }

  /** Idempotent; resolves when the file is closed and the notification sent. */
  stop(reason: RecordingEndReason): Promise<void> {
    // Deferred by a microtask: closing the transport in #finish() closes the consumer,
    // whose 'close' calls stop() again, which must find #stopping already set.
    this.#stopping ??= Promise.resolve()
      .then(() => this.#finish(reason))
      .catch((error: unknown) => this.start.log.error({ err: error }, 'recording stop failed'))
      .finally(() => this.#resolveStopped());
    return this.#stopping;
  }

  #onRtp(packet: Buffer): void {
    if (this.#stopping || this.#error) return;
    const payload = rtpPayload(packet);
    if (!payload || payload.length === 0) return;
    const timestamp = packet.readUInt32BE(4);
    if (!this.#writer) this.#open(payload[0]!);
    for (const page of this.#writer!.push(payload, timestamp)) this.#write(page);
  }

  #open(firstToc: number): void {
    const { channelId, participantId, options } = this.start;
    this.#startedAt = new Date();
    const talker = this.start.talker ?? participantId;
    this.#writer = new OggOpusWriter({
      serial: Number.parseInt(this.id.slice(0, 8), 16),
      // The first packet's stereo flag; packets of the other kind still decode.
      channels: firstToc & 0x04 ? 2 : 1,
      tags: {
        TITLE: `${talker} — ${channelId}`,
        ARTIST: talker,
        DATE: this.#startedAt.toISOString(),
        TRUPP_CHANNEL: channelId,
        TRUPP_PARTICIPANT: participantId,
        TRUPP_RECORDING: this.id,
      },
    });
    const stamp = this.#startedAt
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    this.#path = join(options.directory, `${stamp}_${safeName(participantId)}_${this.id}.opus`);
    this.#file = createWriteStream(this.#path, { flags: 'wx' });
    this.#file.on('error', (error) => {
      this.#error ??= error;
    });
    this.#write(this.#writer.headers());
  }

  #write(page: Buffer): void {
    this.#bytes += page.length;
    this.#file!.write(page);
  }

  async #finish(reason: RecordingEndReason): Promise<void> {
    const transport = this.#transport;
    this.#transport = null;
    transport?.close();
    const { channelId, participantId, log, onDone } = this.start;
    if (!this.#writer || !this.#file) {
      log.debug({ recordingId: this.id, reason }, 'turn ended without audio: nothing recorded');
      return;
    }
    const file = this.#file;
    const path = this.#path!;
    this.#write(this.#writer.end());
    await new Promise<void>((resolve) => {
      if (file.destroyed) return resolve();
      file.end(() => resolve());
      file.once('error', () => resolve());
    });
    const counters = this.#writer.counters;
    const base = {
      recordingId: this.id,
      channelId,
      participantId,
      producerId: this.producerId,
      talker: this.start.talker ?? participantId,
      path,
      startedAt: this.#startedAt!.toISOString(),
    };
    if (this.#error) {
      log.error({ err: this.#error, path }, 'recording failed');
      await unlink(path).catch(() => undefined);
      onDone({ type: 'recording.failed', ...base, error: this.#error.message });
      return;
    }
    const durationMs = Math.round(this.#writer.durationMs);
    log.info({ recordingId: this.id, path, durationMs, reason }, 'recording finished');
    onDone({
      type: 'recording.finished',
      ...base,
      durationMs,
      bytes: this.#bytes,
      packets: counters.packets,
      concealedMs: Math.round((counters.concealedSamples * 1000) / 48_000),
      reason,
    });
  }
}

/**
 * The payload of an RTP packet (RFC 3550 §5.1): after the CSRC list and the header
 * extension, without padding. Null for anything that is not RTP version 2.
 */
export function rtpPayload(packet: Buffer): Buffer | null {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return null;
  let offset = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return null;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[packet.length - 1]!;
  if (end < offset) return null;
  return packet.subarray(offset, end);
}

/** Keeps ids readable in file names, never a path separator. */
function safeName(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || '_';
}
