import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { sfuError } from './errors.ts';
import type { ParticipantSnapshot } from './signaling.ts';

export type ParticipantTransport =
  | { kind: 'webrtc'; transport: types.WebRtcTransport }
  | { kind: 'plain'; transport: types.PlainTransport };

/**
 * One member in one channel: their transports, at most one producer (their microphone)
 * and their consumers (everyone else's). Owned by a Channel; closing it closes every
 * mediasoup object it holds.
 */
export class Participant {
  readonly transports = new Map<string, ParticipantTransport>();
  readonly consumers = new Map<string, types.Consumer>();
  producer: types.Producer | null = null;
  #closed = false;

  constructor(
    readonly id: string,
    readonly log: Logger,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  addTransport(entry: ParticipantTransport): void {
    const { transport } = entry;
    this.transports.set(transport.id, entry);
    // Both observers emit 'close'; the union of their typings is not callable as one.
    (transport.observer as types.TransportObserver).once('close', () =>
      this.transports.delete(transport.id),
    );
  }

  /** @throws SfuError SFU_TRANSPORT_NOT_FOUND */
  transport(transportId: string): ParticipantTransport {
    const entry = this.transports.get(transportId);
    if (!entry) throw sfuError('SFU_TRANSPORT_NOT_FOUND');
    return entry;
  }

  /** @throws SfuError SFU_CONSUMER_NOT_FOUND */
  consumer(consumerId: string): types.Consumer {
    const consumer = this.consumers.get(consumerId);
    if (!consumer) throw sfuError('SFU_CONSUMER_NOT_FOUND');
    return consumer;
  }

  /** Idempotent. Closing the transports closes the producer and consumers on them. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { transport } of this.transports.values()) transport.close();
    this.transports.clear();
    this.consumers.clear();
    this.producer = null;
    this.log.debug('participant closed');
  }

  serialize(): ParticipantSnapshot {
    return {
      participantId: this.id,
      transportIds: [...this.transports.keys()],
      producerId: this.producer?.id ?? null,
      producerPaused: this.producer ? this.producer.paused : null,
      consumerIds: [...this.consumers.keys()],
    };
  }
}
