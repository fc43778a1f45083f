import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Floor } from '@trupp/sfu';
import {
  FLOOR_PRIORITIES,
  createFloorStore,
  type FloorPriority,
  type FloorStore,
  type FloorStoreEvent,
  type FloorStoreResult,
} from './floor-store.ts';

// Two connections stand for two backend nodes sharing one Redis.
let redisA: Redis;
let redisB: Redis;
let prefix: string;
let nodeA: FloorStore;
let nodeB: FloorStore;

beforeAll(() => {
  redisA = new Redis('redis://127.0.0.1:6379');
  redisB = new Redis('redis://127.0.0.1:6379');
});
afterAll(() => {
  redisA?.disconnect();
  redisB?.disconnect();
});

function useFreshPrefix(): void {
  prefix = `trupp-test:floor:${randomBytes(6).toString('hex')}:`;
  nodeA = createFloorStore({ redis: redisA, prefix });
  nodeB = createFloorStore({ redis: redisB, prefix });
}

afterEach(async () => {
  await nodeA?.close();
  await nodeB?.close();
  const keys = await redisA.keys(`${prefix}*`);
  if (keys.length > 0) await redisA.del(...keys);
});

const member = (participantId: string, maxTalkMs = 30_000) => ({
  participantId,
  priority: 'member' as const,
  emergency: false,
  maxTalkMs,
});
const dispatcher = (participantId: string, maxTalkMs = 30_000) => ({
  ...member(participantId, maxTalkMs),
  priority: 'dispatcher' as const,
});

const endedFor = (participantId: string, results: readonly FloorStoreResult[]) =>
  results
    .flatMap((result) => result.events)
    .filter((event) => event.type === 'floor.ended' && event.participantId === participantId);
const grants = (results: readonly FloorStoreResult[]) =>
  results.flatMap((result) => result.events).filter((event) => event.type === 'floor.granted');

describe('floor store: Redis and memory agree with sfu Floor', () => {
  it('replays random requests, releases, leaves and expiries with identical results', async () => {
    useFreshPrefix();
    const participants = Array.from({ length: 6 }, (_, index) => `p${index}`);
    let ops = 0;
    let granted = 0;
    let staleReleases = 0;
    for (let seed = 1; seed <= 8; seed += 1) {
      const random = mulberry32(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const memory = createFloorStore({});
      const channel = `seed-${seed}`;
      // Seeds 1-5 keep the channel options fixed, so a bare sfu Floor is a third witness;
      // seeds 6-8 change them between requests (applied when the floor is idle).
      const fixedOptions = seed <= 5;
      const maxTalkMs = pick([0, 300, 500]);
      const queue = seed !== 3;
      const floor = new Floor({ maxTalkMs, queue });
      let now = 1_000;
      let talking = new Set<string>();
      for (let step = 0; step < 300; step += 1) {
        now += Math.floor(random() * 120);
        const who = pick(participants);
        const roll = random();
        let fromRedis: FloorStoreResult;
        let fromMemory: FloorStoreResult;
        let fromFloor: { outcome: string; events: readonly unknown[] } | null = null;
        if (roll < 0.45) {
          const req = {
            participantId: who,
            priority: pick(FLOOR_PRIORITIES) as FloorPriority,
            emergency: random() < 0.05,
            maxTalkMs: fixedOptions ? maxTalkMs : pick([0, 200, 400]),
            queue: fixedOptions ? queue : random() < 0.7,
          };
          fromRedis = await pick([nodeA, nodeB]).request(channel, req, now);
          fromMemory = await memory.request(channel, req, now);
          fromFloor = floor.request(req, now);
        } else if (roll < 0.65) {
          fromRedis = await pick([nodeA, nodeB]).release(channel, who, now);
          fromMemory = await memory.release(channel, who, now);
          fromFloor = floor.release(who, now);
        } else if (roll < 0.75) {
          // A release naming an epoch: the current one, or an older (stale) one.
          const { holder } = await memory.state(channel, now);
          const epoch = holder ? holder.epoch - (random() < 0.5 ? 0 : 1) : 1;
          const target = holder && random() < 0.8 ? holder.participantId : who;
          fromRedis = await pick([nodeA, nodeB]).release(channel, target, now, epoch);
          fromMemory = await memory.release(channel, target, now, epoch);
          const current = holder?.participantId === target && holder.epoch === epoch;
          if (!current) staleReleases += 1;
          fromFloor = current ? floor.release(target, now) : { outcome: 'none', events: [] };
        } else if (roll < 0.85) {
          fromRedis = await pick([nodeA, nodeB]).leave(channel, who, now);
          fromMemory = await memory.leave(channel, who, now);
          fromFloor = floor.leave(who, now);
        } else {
          fromRedis = await pick([nodeA, nodeB]).expire(channel, now);
          fromMemory = await memory.expire(channel, now);
          fromFloor = floor.expire(now);
        }
        const context = `seed ${seed} step ${step}`;
        expect(fromRedis, context).toEqual(fromMemory);
        expect(await nodeA.state(channel, now), context).toEqual(await memory.state(channel, now));
        if (fixedOptions) {
          expect(
            { outcome: fromMemory.outcome, events: fromMemory.events.map(withoutTurnFields) },
            context,
          ).toEqual({ outcome: fromFloor.outcome, events: fromFloor.events });
          expect(fromMemory.holder?.participantId ?? null, context).toBe(
            floor.holder?.participantId ?? null,
          );
          expect(fromMemory.queue, context).toEqual(floor.queue);
        }
        talking = applyEvents(talking, fromRedis.events, context);
        expect([...talking][0] ?? null, context).toBe(fromRedis.holder?.participantId ?? null);
        if (fromRedis.holder && maxTalkMs > 0 && fixedOptions) {
          expect(fromRedis.holder.deadline).toBe(fromRedis.holder.grantedAt + maxTalkMs);
        }
        granted += grants([fromRedis]).length;
        ops += 1;
      }
      await memory.close();
    }
    expect(ops).toBe(2_400);
    // The sequence must actually exercise hand-overs and stale releases.
    expect(granted).toBeGreaterThan(300);
    expect(staleReleases).toBeGreaterThan(50);
  }, 60_000);

  it('gives epochs that only grow, across nodes and across released turns', async () => {
    useFreshPrefix();
    const epochs: number[] = [];
    for (let turn = 0; turn < 10; turn += 1) {
      const node = turn % 2 === 0 ? nodeA : nodeB;
      const { holder } = await node.request('ch', member(`p${turn}`), turn * 10);
      epochs.push(holder!.epoch);
      await node.release('ch', `p${turn}`, turn * 10 + 5, holder!.epoch);
    }
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const ttl = await redisA.pttl(`${prefix}ch`);
    expect(ttl).toBeGreaterThan(23 * 60 * 60 * 1000);
  });
});

describe('floor store races across two nodes (Redis)', () => {
  it('grants exactly one of 50 simultaneous requests and queues or denies the rest', async () => {
    useFreshPrefix();
    for (let round = 0; round < 20; round += 1) {
      const queue = round % 2 === 0;
      const channel = `race-${round}`;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          (index % 2 === 0 ? nodeA : nodeB).request(
            channel,
            { ...member(`p${index}`), queue },
            1_000 + index,
          ),
        ),
      );
      const outcomes = results.map((result) => result.outcome);
      expect(outcomes.filter((outcome) => outcome === 'granted')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === (queue ? 'queued' : 'denied'))).toHaveLength(
        49,
      );
      expect(grants(results)).toHaveLength(1);
      const winner = results.find((result) => result.outcome === 'granted')!;
      const state = await nodeB.state(channel, 2_000);
      expect(state.holder?.participantId).toBe(winner.holder?.participantId);
      expect(state.queue).toHaveLength(queue ? 49 : 0);
      expect(state.queue).not.toContain(state.holder?.participantId);
      if (queue) {
        // Positions 1..49 handed out once each, in the order the script ran.
        const positions = results.flatMap((result) =>
          result.events.flatMap((event) => (event.type === 'floor.queued' ? [event.position] : [])),
        );
        expect(positions.sort((a, b) => a - b)).toEqual(
          Array.from({ length: 49 }, (_, index) => index + 1),
        );
      }
    }
  });

  it('ends a member once when their release races a dispatcher pre-emption', async () => {
    useFreshPrefix();
    const orders = { releasedFirst: 0, preemptedFirst: 0 };
    for (let round = 0; round < 40; round += 1) {
      const channel = `preempt-${round}`;
      await nodeA.request(channel, member('m'), 1_000);
      await nodeA.request(channel, member('q'), 1_001);
      const [released, preempted] = await Promise.all([
        (round % 2 === 0 ? nodeA : nodeB).release(channel, 'm', 1_010),
        (round % 2 === 0 ? nodeB : nodeA).request(channel, dispatcher('d'), 1_010),
      ]);
      const results = [released, preempted];
      const endedM = endedFor('m', results);
      expect(endedM).toHaveLength(1);
      const state = await nodeA.state(channel, 1_020);
      expect(state.holder?.participantId).toBe('d');
      expect(state.queue).not.toContain('m');
      const releaseFirst = (endedM[0] as { reason: string }).reason === 'released';
      if (releaseFirst) {
        orders.releasedFirst += 1;
        // q got the floor from the release, then the dispatcher pre-empted q.
        expect(endedFor('q', results)).toMatchObject([{ reason: 'preempted', by: 'd' }]);
      } else {
        orders.preemptedFirst += 1;
        expect(endedM[0]).toMatchObject({ reason: 'preempted', by: 'd' });
        expect(released.events).toEqual([]);
        expect(state.queue).toEqual(['q']);
      }
      // Replaying in the order the results imply leaves exactly the dispatcher talking.
      const ordered = releaseFirst ? [released, preempted] : [preempted, released];
      expect([
        ...applyEvents(
          new Set(['m']),
          ordered.flatMap((result) => result.events),
          channel,
        ),
      ]).toEqual(['d']);
    }
    expect(orders.releasedFirst + orders.preemptedFirst).toBe(40);
  });

  it('ends an expired turn exactly once when every node calls expire at once', async () => {
    useFreshPrefix();
    await nodeA.request('ch', member('a', 200), 1_000);
    await nodeB.request('ch', member('b', 200), 1_050);
    const early = await Promise.all([nodeA.expire('ch', 1_199), nodeB.expire('ch', 1_199)]);
    expect(early.flatMap((result) => result.events)).toEqual([]);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        (index % 2 === 0 ? nodeA : nodeB).expire('ch', 1_200 + (index % 3)),
      ),
    );
    expect(endedFor('a', results)).toEqual([
      { type: 'floor.ended', participantId: 'a', reason: 'expired', epoch: 1 },
    ]);
    const next = grants(results);
    expect(next).toHaveLength(1);
    const holder = (next[0] as Extract<FloorStoreEvent, { type: 'floor.granted' }>).holder;
    expect(holder).toMatchObject({ participantId: 'b', epoch: 2 });
    expect(holder.deadline).toBe(holder.grantedAt + 200);
    expect(await nodeB.state('ch', 1_300)).toEqual({ holder, queue: [] });
  });
});

describe.each([
  ['memory', () => ({ first: createFloorStore({}), second: null as FloorStore | null })],
  ['redis', () => ({ first: nodeA, second: nodeB as FloorStore | null })],
])('floor store (%s)', (_name, stores) => {
  let first: FloorStore;
  let second: FloorStore;
  const setUp = () => {
    useFreshPrefix();
    const picked = stores();
    first = picked.first;
    second = picked.second ?? picked.first;
  };

  it('hands the floor to the next in line when the holder leaves; stale releases change nothing', async () => {
    setUp();
    const a1 = await first.request('ch', member('a'), 0);
    expect(a1.holder).toMatchObject({ participantId: 'a', epoch: 1, deadline: 30_000 });
    await first.request('ch', dispatcher('d'), 10); // pre-empts a, epoch 2
    await second.release('ch', 'd', 20); // floor free
    const a3 = await second.request('ch', member('a'), 30);
    expect(a3.holder).toMatchObject({ participantId: 'a', epoch: 3 });
    await first.request('ch', member('b'), 40);

    // A's release from its first turn arrives late: nothing changes, not even the queue.
    const before = await first.state('ch', 50);
    expect(await second.release('ch', 'a', 50, 1)).toEqual({
      ...before,
      outcome: 'none',
      events: [],
    });
    // Nor does a release naming the current epoch for somebody else, or a queued member.
    expect((await first.release('ch', 'b', 51, 3)).events).toEqual([]);
    expect((await first.release('ch', 'nobody', 52)).events).toEqual([]);
    expect(await second.state('ch', 53)).toEqual(before);

    const left = await second.leave('ch', 'a', 60);
    expect(left.events).toEqual([
      { type: 'floor.ended', participantId: 'a', reason: 'left', epoch: 3 },
      {
        type: 'floor.granted',
        holder: {
          participantId: 'b',
          priority: 'member',
          emergency: false,
          grantedAt: 60,
          deadline: 30_060,
          epoch: 4,
        },
      },
    ]);
    // The current epoch does end the turn.
    expect((await first.release('ch', 'b', 70, 4)).events).toEqual([
      { type: 'floor.ended', participantId: 'b', reason: 'released', epoch: 4 },
    ]);
    expect(await first.state('ch', 80)).toEqual({ holder: null, queue: [] });
  });

  it('drops a queued participant who leaves, and keeps a running turn on new options', async () => {
    setUp();
    await first.request('ch', member('a', 1_000), 0);
    await first.request('ch', member('b', 1_000), 1);
    expect((await second.leave('ch', 'b', 2)).events).toEqual([
      { type: 'floor.dequeued', participantId: 'b' },
    ]);
    // The admin shortened the talk time while a talks: a's deadline stays.
    await second.request('ch', member('c', 100), 3);
    expect((await first.state('ch', 4)).holder?.deadline).toBe(1_000);
    expect((await first.expire('ch', 999)).events).toEqual([]);
    const expired = await second.expire('ch', 1_000);
    expect(expired.events.map((event) => event.type)).toEqual(['floor.ended', 'floor.granted']);
    expect(expired.holder).toMatchObject({ participantId: 'c', deadline: 2_000 });
    await first.release('ch', 'c', 1_100);
    // Idle now, so the new talk time applies to the next turn.
    expect((await first.request('ch', member('c', 100), 1_200)).holder?.deadline).toBe(1_300);
  });

  it('escalates the running turn when the holder declares an emergency', async () => {
    setUp();
    await first.request('ch', member('a'), 0);
    const escalated = await second.request('ch', { ...member('a'), emergency: true }, 5);
    expect(escalated).toMatchObject({ outcome: 'granted', events: [] });
    expect(escalated.holder).toMatchObject({ emergency: true, grantedAt: 0, epoch: 1 });
    expect((await first.request('ch', dispatcher('d'), 6)).outcome).toBe('queued');
  });

  it('rejects clock values it cannot store exactly', async () => {
    setUp();
    await expect(first.request('ch', member('a'), 1.5)).rejects.toThrow(RangeError);
    await expect(first.request('ch', member('a', -1), 0)).rejects.toThrow(RangeError);
    await expect(
      first.request('ch', { ...member('a'), priority: 'chief' as FloorPriority }, 0),
    ).rejects.toThrow(RangeError);
    expect(await first.state('ch', 0)).toEqual({ holder: null, queue: [] });
  });
});

function withoutTurnFields(event: FloorStoreEvent): unknown {
  if (event.type === 'floor.granted') {
    const { deadline: _deadline, epoch: _epoch, ...holder } = event.holder;
    return { type: event.type, holder };
  }
  if (event.type === 'floor.ended') {
    const { epoch: _epoch, ...rest } = event;
    return rest;
  }
  return event;
}

/** Who talks, rebuilt from events as a listener would; fails on a grant over a talker. */
function applyEvents(
  talking: Set<string>,
  events: readonly FloorStoreEvent[],
  context: string,
): Set<string> {
  const next = new Set(talking);
  for (const event of events) {
    if (event.type === 'floor.granted') {
      if (next.size !== 0) expect.fail(`granted while someone still talks (${context})`);
      next.add(event.holder.participantId);
    } else if (event.type === 'floor.ended') {
      if (!next.has(event.participantId)) expect.fail(`ended a turn not running (${context})`);
      next.delete(event.participantId);
    }
  }
  return next;
}

/** Small seeded PRNG so a failing seed reproduces. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
