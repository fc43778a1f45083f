import type { Redis } from 'ioredis';

/**
 * Who is in a channel, across backend nodes: for each participant (one socket in one
 * channel) the user behind it and its producer. Any node that hands the floor to a
 * participant — also one connected to another node, e.g. the next in the queue after a
 * release — finds the producer to resume here, and names the talker from it.
 *
 * In memory with one node; a Redis hash per channel with several (`REDIS_URL`).
 */
export interface ParticipantInfo {
  userId: string;
  displayName: string;
  /** The participant's microphone in the SFU, once it produces. */
  producerId: string | null;
}

export interface ParticipantDirectory {
  set(channelId: string, participantId: string, info: ParticipantInfo): Promise<void>;
  get(channelId: string, participantId: string): Promise<ParticipantInfo | null>;
  delete(channelId: string, participantId: string): Promise<void>;
  all(channelId: string): Promise<Map<string, ParticipantInfo>>;
}

export function createParticipantDirectory(redis: Redis | null): ParticipantDirectory {
  return redis ? new RedisDirectory(redis) : new MemoryDirectory();
}

class MemoryDirectory implements ParticipantDirectory {
  readonly #channels = new Map<string, Map<string, ParticipantInfo>>();

  async set(channelId: string, participantId: string, info: ParticipantInfo) {
    let channel = this.#channels.get(channelId);
    if (!channel) this.#channels.set(channelId, (channel = new Map()));
    channel.set(participantId, info);
  }

  async get(channelId: string, participantId: string) {
    return this.#channels.get(channelId)?.get(participantId) ?? null;
  }

  async delete(channelId: string, participantId: string) {
    const channel = this.#channels.get(channelId);
    channel?.delete(participantId);
    if (channel?.size === 0) this.#channels.delete(channelId);
  }

  async all(channelId: string) {
    return new Map(this.#channels.get(channelId));
  }
}

/** A channel untouched this long is forgotten (participants of a node that died). */
const TTL_SECONDS = 24 * 3600;

class RedisDirectory implements ParticipantDirectory {
  constructor(readonly redis: Redis) {}

  #key(channelId: string): string {
    return `trupp:ptt:participants:${channelId}`;
  }

  async set(channelId: string, participantId: string, info: ParticipantInfo) {
    const key = this.#key(channelId);
    await this.redis
      .multi()
      .hset(key, participantId, JSON.stringify(info))
      .expire(key, TTL_SECONDS)
      .exec();
  }

  async get(channelId: string, participantId: string) {
    const raw = await this.redis.hget(this.#key(channelId), participantId);
    return raw ? (JSON.parse(raw) as ParticipantInfo) : null;
  }

  async delete(channelId: string, participantId: string) {
    await this.redis.hdel(this.#key(channelId), participantId);
  }

  async all(channelId: string) {
    const raw = await this.redis.hgetall(this.#key(channelId));
    return new Map(
      Object.entries(raw).map(([id, json]) => [id, JSON.parse(json) as ParticipantInfo]),
    );
  }
}
