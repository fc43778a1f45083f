/**
 * "Audio is not flowing": while someone else holds the floor, the bytes received on our
 * consumer must keep rising. The store samples `inbound-rtp` stats (RTCPeerConnection
 * getStats through mediasoup-client) about twice a second and feeds them here; when the
 * counter stands still for `stallMs` during a turn the page says so.
 */

/** No new bytes for this long during someone's turn counts as "no audio". */
export const STALL_MS = 2000;

export type AudioFlow = 'unknown' | 'flowing' | 'missing';

export class AudioFlowMonitor {
  readonly #stallMs: number;
  #since: number | null = null;
  #lastBytes: number | null = null;
  #lastRiseAt = 0;
  #state: AudioFlow = 'unknown';

  constructor(stallMs = STALL_MS) {
    this.#stallMs = stallMs;
  }

  get state(): AudioFlow {
    return this.#state;
  }

  /**
   * One sample. `expecting`: someone else holds the floor of the channel we hear.
   * `bytesReceived`: the summed inbound-rtp bytes of our consumers, or null when there is
   * no consumer for the talker at all (which, during a turn, is "missing" too).
   */
  sample(now: number, expecting: boolean, bytesReceived: number | null): AudioFlow {
    if (!expecting) {
      this.#since = null;
      this.#lastBytes = bytesReceived;
      this.#state = 'unknown';
      return this.#state;
    }
    if (this.#since === null) {
      this.#since = now;
      this.#lastRiseAt = now;
      // Bytes from before the turn do not count as flow during it.
      this.#lastBytes = bytesReceived;
    } else if (
      bytesReceived !== null &&
      (this.#lastBytes === null || bytesReceived > this.#lastBytes)
    ) {
      this.#lastBytes = bytesReceived;
      this.#lastRiseAt = now;
      this.#state = 'flowing';
      return this.#state;
    }
    if (now - this.#lastRiseAt >= this.#stallMs) this.#state = 'missing';
    return this.#state;
  }
}
