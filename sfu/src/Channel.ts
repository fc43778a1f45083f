import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { sfuError } from './errors.ts';
import { Participant } from './Participant.ts';
import { Recorder } from './Recorder.ts';
import type {
  ChannelSnapshot,
  RecordingEndReason,
  RecordingOptions,
  SfuNotification,
} from './signaling.ts';

export interface ChannelHooks {
  /** recording.finished / recording.failed; must not throw. */
  readonly notify: (notification: SfuNotification) => void;
  /** Each recording's completion, so a shutdown can wait for files to be closed. */
  readonly track: (done: Promise<void>) => void;
}

/** Audio only: Opus, the codec every WebRTC endpoint has, with in-band FEC. */
export const CHANNEL_MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  {
    kind: 'audio',
    mimeType: 'audio/opus',
    clockRate: 48000,
    channels: 2,
    parameters: { useinbandfec: 1 },
  },
];

/**
 * One push-to-talk channel: one mediasoup router on one worker, its participants, and
 * the floor as the SFU enforces it — at most one producer is resumed at any time, and
 * only through `grantFloor()`.
 *
 * When its worker dies the channel keeps its id and gets a new router via `rebuild()`;
 * participants are dropped and told (by Server) to join again.
 *
 * Recording (when `recording` is set) follows the floor: a Recorder starts with each
 * grant — before the producer is resumed, so the first packet is in the file — and
 * stops when the turn ends (release, a grant to someone else, the producer closing).
 */
export class Channel {
  readonly participants = new Map<string, Participant>();
  #router: types.Router;
  #workerIndex: number;
  #floorProducerId: string | null = null;
  /** Floor changes run one after another, so pause-then-resume pairs never interleave. */
  #floorChain: Promise<unknown> = Promise.resolve();
  #closed = false;
  #recording: RecordingOptions | null = null;
  #recorder: Recorder | null = null;
  /** Talker label of the current grant, for a recording started mid-turn. */
  #floorTalker: string | undefined;
  readonly #hooks: ChannelHooks;

  private constructor(
    readonly id: string,
    router: types.Router,
    workerIndex: number,
    readonly log: Logger,
    hooks: ChannelHooks,
  ) {
    this.#router = router;
    this.#workerIndex = workerIndex;
    this.#hooks = hooks;
  }

  static async create(
    id: string,
    worker: types.Worker,
    workerIndex: number,
    log: Logger,
    hooks: ChannelHooks = { notify: () => undefined, track: () => undefined },
  ): Promise<Channel> {
    const router = await worker.createRouter({
      mediaCodecs: CHANNEL_MEDIA_CODECS,
      appData: { channelId: id },
    });
    return new Channel(id, router, workerIndex, log, hooks);
  }

  get recording(): RecordingOptions | null {
    return this.#recording;
  }

  get router(): types.Router {
    return this.#router;
  }

  get workerIndex(): number {
    return this.#workerIndex;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get floorProducerId(): string | null {
    return this.#floorProducerId;
  }

  /**
   * Replaces the router lost with a dead worker. Returns the ids of the participants
   * that were in the channel (they must join again).
   */
  async rebuild(worker: types.Worker, workerIndex: number): Promise<string[]> {
    const participantIds = [...this.participants.keys()];
    this.#stopRecorder('producer.closed');
    for (const participant of this.participants.values()) participant.close();
    this.participants.clear();
    this.#floorProducerId = null;
    this.#router.close();
    this.#router = await worker.createRouter({
      mediaCodecs: CHANNEL_MEDIA_CODECS,
      appData: { channelId: this.id },
    });
    this.#workerIndex = workerIndex;
    return participantIds;
  }

  /** @throws SfuError SFU_PARTICIPANT_NOT_FOUND */
  participant(participantId: string): Participant {
    const participant = this.participants.get(participantId);
    if (!participant) throw sfuError('SFU_PARTICIPANT_NOT_FOUND');
    return participant;
  }

  /** Joining twice returns the same participant. */
  join(participantId: string): Participant {
    let participant = this.participants.get(participantId);
    if (!participant) {
      participant = new Participant(participantId, this.log.child({ participantId }));
      this.participants.set(participantId, participant);
    }
    return participant;
  }

  /** Idempotent; a leaving floor holder's producer closes, so the floor is free. */
  leave(participantId: string): boolean {
    const participant = this.participants.get(participantId);
    if (!participant) return false;
    if (participant.producer && participant.producer.id === this.#floorProducerId) {
      this.#floorProducerId = null;
    }
    participant.close();
    this.participants.delete(participantId);
    return true;
  }

  /** Producers of everyone in the channel (paused or not), for a joining listener. */
  producerIds(): string[] {
    const ids: string[] = [];
    for (const participant of this.participants.values()) {
      if (participant.producer && !participant.producer.closed) ids.push(participant.producer.id);
    }
    return ids;
  }

  /** @throws SfuError SFU_PRODUCER_NOT_FOUND */
  producer(producerId: string): { participant: Participant; producer: types.Producer } {
    for (const participant of this.participants.values()) {
      if (participant.producer?.id === producerId && !participant.producer.closed) {
        return { participant, producer: participant.producer };
      }
    }
    throw sfuError('SFU_PRODUCER_NOT_FOUND');
  }

  /**
   * Makes `producerId` the only producer that is forwarded: pauses the previous holder
   * first, then resumes the new one, so listeners never receive two talkers.
   * @throws SfuError SFU_PRODUCER_NOT_FOUND
   */
  grantFloor(producerId: string, talker?: string): Promise<{ previousProducerId: string | null }> {
    return this.#serialize(async () => {
      const { producer, participant } = this.producer(producerId);
      const previousProducerId = this.#floorProducerId;
      if (previousProducerId !== null && previousProducerId !== producerId) {
        await this.#pauseIfOpen(previousProducerId);
      }
      if (this.#recorder && this.#recorder.producerId !== producerId) {
        this.#stopRecorder('floor.changed');
      }
      this.#floorProducerId = producerId;
      this.#floorTalker = talker;
      if (this.#recording && !this.#recorder) {
        await this.#startRecorder(producer, participant.id);
      }
      await producer.resume();
      this.log.debug({ producerId, previousProducerId }, 'floor granted');
      return { previousProducerId };
    });
  }

  /** Pauses the floor holder's producer; nobody is forwarded afterwards. */
  releaseFloor(): Promise<{ previousProducerId: string | null }> {
    return this.#serialize(async () => {
      const previousProducerId = this.#floorProducerId;
      this.#floorProducerId = null;
      this.#stopRecorder('released');
      if (previousProducerId !== null) await this.#pauseIfOpen(previousProducerId);
      return { previousProducerId };
    });
  }

  /**
   * Turns recording on (from the next grant, and at once for a turn in progress) or off
   * (ending a running recording).
   */
  setRecording(recording: RecordingOptions | null): Promise<void> {
    return this.#serialize(async () => {
      this.#recording = recording;
      if (!recording) {
        this.#stopRecorder('recording.off');
        return;
      }
      const holder = this.#floorProducerId;
      if (holder !== null && !this.#recorder) {
        const { producer, participant } = this.producer(holder);
        await this.#startRecorder(producer, participant.id);
      }
    });
  }

  /**
   * A participant resumes their own producer (after muting it): only the floor holder.
   * @throws SfuError SFU_NOT_FLOOR_HOLDER
   */
  resumeOwnProducer(participant: Participant): Promise<void> {
    return this.#serialize(async () => {
      const producer = participant.producer;
      if (!producer || producer.id !== this.#floorProducerId)
        throw sfuError('SFU_NOT_FLOOR_HOLDER');
      await producer.resume();
    });
  }

  /** Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopRecorder('channel.closed');
    for (const participant of this.participants.values()) participant.close();
    this.participants.clear();
    this.#floorProducerId = null;
    this.#router.close();
    this.log.debug('channel closed');
  }

  serialize(): ChannelSnapshot {
    return {
      channelId: this.id,
      workerIndex: this.#workerIndex,
      participants: [...this.participants.values()].map((participant) => participant.serialize()),
      floorProducerId: this.#floorProducerId,
      recording: this.#recording,
      recordingId: this.#recorder?.id ?? null,
    };
  }

  /**
   * A recording failure must never cost the talker the floor: it is logged and
   * announced, and the grant goes ahead unrecorded.
   */
  async #startRecorder(producer: types.Producer, participantId: string): Promise<void> {
    const recording = this.#recording!;
    try {
      const recorder = await Recorder.start({
        router: this.#router,
        producer,
        channelId: this.id,
        participantId,
        talker: this.#floorTalker,
        options: recording,
        log: this.log.child({ recording: true }),
        onDone: this.#hooks.notify,
      });
      this.#recorder = recorder;
      this.#hooks.track(recorder.stopped);
      // The producer closing ends the recording by itself; forget it then.
      void recorder.stopped.then(() => {
        if (this.#recorder === recorder) this.#recorder = null;
      });
    } catch (error) {
      this.log.error({ err: error, producerId: producer.id }, 'recording could not start');
    }
  }

  #stopRecorder(reason: RecordingEndReason): void {
    const recorder = this.#recorder;
    this.#recorder = null;
    void recorder?.stop(reason);
  }

  async #pauseIfOpen(producerId: string): Promise<void> {
    for (const participant of this.participants.values()) {
      const producer = participant.producer;
      if (producer?.id === producerId && !producer.closed) await producer.pause();
    }
  }

  #serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#floorChain.then(task, task);
    this.#floorChain = run.catch(() => undefined);
    return run;
  }
}
