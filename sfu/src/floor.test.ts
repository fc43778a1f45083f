import { describe, expect, it } from 'vitest';
import {
  FLOOR_PRIORITIES,
  Floor,
  floorRank,
  type FloorEvent,
  type FloorPriority,
} from './floor.ts';

const member = (participantId: string) => ({ participantId, priority: 'member' as const });
const lead = (participantId: string) => ({ participantId, priority: 'lead' as const });
const dispatcher = (participantId: string) => ({ participantId, priority: 'dispatcher' as const });

describe('Floor', () => {
  it('grants a free floor and queues the next request behind the talker', () => {
    const floor = new Floor();
    expect(floor.request(member('a'), 0)).toMatchObject({
      outcome: 'granted',
      events: [{ type: 'floor.granted', holder: { participantId: 'a', grantedAt: 0 } }],
    });
    expect(floor.request(member('b'), 10)).toEqual({
      outcome: 'queued',
      events: [{ type: 'floor.queued', participantId: 'b', position: 1 }],
    });
    expect(floor.holder?.participantId).toBe('a');
  });

  it('denies instead of queueing when the channel does not queue', () => {
    const floor = new Floor({ queue: false });
    floor.request(lead('a'), 0);
    expect(floor.request(member('b'), 1)).toEqual({
      outcome: 'denied',
      events: [{ type: 'floor.denied', participantId: 'b', reason: 'FLOOR_BUSY' }],
    });
    expect(floor.queue).toEqual([]);
  });

  it('hands the floor to the next in the queue on release, and a queued release only leaves the queue', () => {
    const floor = new Floor();
    floor.request(member('a'), 0);
    floor.request(member('b'), 1);
    floor.request(member('c'), 2);
    expect(floor.release('c', 3).events).toEqual([{ type: 'floor.dequeued', participantId: 'c' }]);
    expect(floor.release('a', 4).events).toEqual([
      { type: 'floor.ended', participantId: 'a', reason: 'released' },
      {
        type: 'floor.granted',
        holder: { participantId: 'b', priority: 'member', emergency: false, grantedAt: 4 },
      },
    ]);
    expect(floor.release('b', 5).events).toEqual([
      { type: 'floor.ended', participantId: 'b', reason: 'released' },
    ]);
    expect(floor.holder).toBeNull();
    expect(floor.release('nobody', 6)).toEqual({ outcome: 'none', events: [] });
  });

  it('ends a turn at the maximum talk time, not before', () => {
    const floor = new Floor({ maxTalkMs: 30_000 });
    floor.request(member('a'), 1_000);
    floor.request(member('b'), 2_000);
    expect(floor.deadline()).toBe(31_000);
    expect(floor.expire(30_999).events).toEqual([]);
    const { events } = floor.expire(31_000);
    expect(events[0]).toEqual({ type: 'floor.ended', participantId: 'a', reason: 'expired' });
    expect(floor.holder).toMatchObject({ participantId: 'b', grantedAt: 31_000 });
    expect(floor.deadline()).toBe(61_000);
  });

  it('has no deadline when the talk time is unlimited', () => {
    const floor = new Floor({ maxTalkMs: 0 });
    floor.request(member('a'), 0);
    expect(floor.deadline()).toBeNull();
    expect(floor.expire(10 ** 9).events).toEqual([]);
  });

  it('lets a higher priority pre-empt the talker: dispatcher > lead > member', () => {
    const floor = new Floor();
    floor.request(member('m'), 0);
    expect(floor.request(lead('l'), 1).events).toEqual([
      { type: 'floor.ended', participantId: 'm', reason: 'preempted', by: 'l' },
      expect.objectContaining({ type: 'floor.granted' }),
    ]);
    expect(floor.request(member('m'), 2).outcome).toBe('queued');
    expect(floor.request(dispatcher('d'), 3).outcome).toBe('granted');
    expect(floor.holder?.participantId).toBe('d');
    // Equal rank never pre-empts.
    expect(floor.request(dispatcher('d2'), 4).outcome).toBe('queued');
    expect(floor.request(lead('l'), 5).outcome).toBe('queued');
    // The queue is in rank order, then arrival.
    expect(floor.queue).toEqual(['d2', 'l', 'm']);
  });

  it('lets an emergency call beat even the dispatcher, but not another emergency', () => {
    const floor = new Floor();
    floor.request(dispatcher('d'), 0);
    const result = floor.request({ ...member('m'), emergency: true }, 1);
    expect(result.outcome).toBe('granted');
    expect(result.events[0]).toEqual({
      type: 'floor.ended',
      participantId: 'd',
      reason: 'preempted',
      by: 'm',
    });
    expect(floor.holder).toMatchObject({ participantId: 'm', emergency: true });
    expect(floor.request({ ...dispatcher('d'), emergency: true }, 2).outcome).toBe('queued');
    expect(floorRank({ priority: 'member', emergency: true })).toBeGreaterThan(
      floorRank({ priority: 'dispatcher' }),
    );
  });

  it('keeps one turn when the holder presses again, and escalates it to an emergency', () => {
    const floor = new Floor();
    floor.request(member('a'), 0);
    expect(floor.request(member('a'), 5)).toEqual({ outcome: 'granted', events: [] });
    expect(floor.holder?.grantedAt).toBe(0);
    floor.request({ ...member('a'), emergency: true }, 6);
    expect(floor.holder).toMatchObject({ participantId: 'a', emergency: true, grantedAt: 0 });
    expect(floor.request(dispatcher('d'), 7).outcome).toBe('queued');
  });

  it('keeps one queue entry per participant, moved by a higher-ranked repeat', () => {
    const floor = new Floor();
    floor.request(dispatcher('a'), 0);
    floor.request(member('b'), 1);
    floor.request(member('c'), 2);
    floor.request(member('b'), 3);
    expect(floor.queue).toEqual(['c', 'b']);
    expect(floor.request(lead('b'), 4).events).toEqual([
      { type: 'floor.queued', participantId: 'b', position: 1 },
    ]);
    expect(floor.queue).toEqual(['b', 'c']);
  });

  it('releases the floor when the holder leaves, granting the next', () => {
    const floor = new Floor();
    floor.request(member('a'), 0);
    floor.request(member('b'), 1);
    expect(floor.leave('a', 2).events.map((event) => event.type)).toEqual([
      'floor.ended',
      'floor.granted',
    ]);
    expect(floor.holder?.participantId).toBe('b');
  });

  it('never has two holders under a randomized storm of requests, releases, leaves and expiries', () => {
    const participants = Array.from({ length: 8 }, (_, index) => `p${index}`);
    let steps = 0;
    for (let seed = 1; seed <= 25; seed += 1) {
      const random = mulberry32(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const floor = new Floor({ maxTalkMs: 500, queue: random() < 0.8 });
      // Who is talking, rebuilt only from the events, as a listener would.
      let talking = new Set<string>();
      let now = 0;
      for (let step = 0; step < 2_000; step += 1) {
        now += Math.floor(random() * 100);
        const who = pick(participants);
        const roll = random();
        const priority: FloorPriority = pick(FLOOR_PRIORITIES);
        const result =
          roll < 0.5
            ? floor.request({ participantId: who, priority, emergency: random() < 0.05 }, now)
            : roll < 0.8
              ? floor.release(who, now)
              : roll < 0.9
                ? floor.leave(who, now)
                : floor.expire(now);
        talking = apply(talking, result.events);

        // Plain checks: hundreds of thousands of expect() calls would dominate the run.
        const context = `seed ${seed} step ${step}`;
        const queue = floor.queue;
        const deadline = floor.deadline();
        const problem =
          talking.size > 1
            ? 'two talkers'
            : ([...talking][0] ?? null) !== (floor.holder?.participantId ?? null)
              ? 'events and holder disagree'
              : new Set(queue).size !== queue.length
                ? 'queued twice'
                : floor.holder && queue.includes(floor.holder.participantId)
                  ? 'holder is queued'
                  : !floor.holder && queue.length > 0
                    ? 'idle floor with a queue'
                    : !floor.queueing && queue.length > 0
                      ? 'queue on a non-queueing channel'
                      : roll >= 0.9 && deadline !== null && deadline <= now
                        ? 'turn outlived its deadline after expire()'
                        : null;
        if (problem) expect.fail(`${problem} (${context})`);
        steps += 1;
      }
    }
    expect(steps).toBe(25 * 2_000);
  }, 30_000);
});

/** Applies events in order, failing if a grant arrives while someone still talks. */
function apply(talking: Set<string>, events: readonly FloorEvent[]): Set<string> {
  const next = new Set(talking);
  for (const event of events) {
    if (event.type === 'floor.granted') {
      if (next.size !== 0) expect.fail('granted while someone else still holds the floor');
      next.add(event.holder.participantId);
    } else if (event.type === 'floor.ended') {
      if (!next.has(event.participantId)) expect.fail('ended a turn that was not running');
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
