import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import {
  PTT_SERVER_EVENTS,
  type PttChannel,
  type PttConsumer,
  type PttFloorGranted,
  type PttFloorRequestResult,
  type PttFloorState,
} from '@trupp/shared';
import { buildApp } from '../../app.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
} from '../../test/factories.ts';
import { PttTestClient, waitUntil } from '../../test/ptt-client.ts';
import { listen } from '../../test/realtime.ts';
import { startSfu, startSfuService, type SfuNotification } from '@trupp/sfu';
import { startLocalSfu, type SfuHandle } from './media.ts';

/**
 * Two backend nodes with one Redis (floor store, participant directory, socket.io
 * adapter) and one SFU, as in a scale-out deployment with `SFU_URL`. The floor is decided
 * once for both nodes: simultaneous presses on both get exactly one grant, a release on
 * one node hands the floor to someone on the other, and media crosses nodes.
 */
let h: TestApp;
let sfu: SfuHandle;
const nodes: FastifyInstance[] = [];
const redis: Redis[] = [];
const urls: string[] = [];
const clients: PttTestClient[] = [];
let tenantId: string;
let unitId: string;
let dispatch: ReturnType<typeof apiAs>;

beforeAll(async () => {
  h = await createTestApp();
  sfu = await startLocalSfu(h.config.sfu, pino({ level: 'silent' }));
  const streamName = `trupp-ptt-test-${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < 2; i += 1) {
    const client = new Redis('redis://127.0.0.1:6379');
    redis.push(client);
    const node = await buildApp({
      config: h.config,
      database: h.db.database,
      redis: client,
      socketStreamName: streamName,
      sfu,
    });
    nodes.push(node);
    urls.push(await listen(node));
  }
  const db = h.db.database.db;
  tenantId = (await createTenant(db)).id;
  unitId = (await createUnit(db, tenantId)).id;
  const dispatcher = await createUser(db, tenantId, { role: 'dispatcher' });
  dispatch = apiAs(nodes[0]!, (await createDeviceSession(db, dispatcher)).accessToken);
});
afterAll(async () => {
  for (const c of clients) await c.close();
  for (const node of nodes) await node.close();
  for (const r of redis) r.disconnect();
  await sfu?.close();
  await h?.close();
});

async function member(node: number, name: string): Promise<PttTestClient> {
  const user = await createUser(h.db.database.db, tenantId, {
    displayName: name,
    unitIds: [unitId],
  });
  const { accessToken } = await createDeviceSession(h.db.database.db, user);
  const c = await PttTestClient.connect(urls[node]!, accessToken);
  clients.push(c);
  return c;
}

async function channel(): Promise<string> {
  const res = await dispatch('POST', '/api/ptt/channels', {
    name: `Two nodes ${clients.length}`,
    members: { unitIds: [unitId], roles: [], userIds: [] },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<PttChannel>().id;
}

describe('push-to-talk on two nodes', () => {
  it('simultaneous presses on both nodes get exactly one grant; releases hand the floor on across nodes', async () => {
    const id = await channel();
    const members: PttTestClient[] = [];
    for (let i = 0; i < 8; i += 1) members.push(await member(i % 2, `Member ${i}`));
    for (const m of members) {
      await m.join(id);
      await m.produceWithoutMedia(id);
    }
    for (let round = 0; round < 3; round += 1) {
      const results = await Promise.all(members.map((m) => m.request(id)));
      const granted = results.filter((r) => r.outcome === 'granted');
      expect(granted, `round ${round}`).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'queued')).toHaveLength(members.length - 1);
      // Hand the floor down the queue: each release grants exactly one other member.
      let holder = members[results.findIndex((r) => r.outcome === 'granted')]!;
      for (let turn = 1; turn < members.length; turn += 1) {
        const since = performance.now();
        await holder.release(id);
        const grantedSince = () =>
          members.filter((m) =>
            m.events.some(
              (e) =>
                e.event === PTT_SERVER_EVENTS.granted &&
                e.at >= since &&
                (e.payload as PttFloorGranted).channelId === id,
            ),
          );
        expect(await waitUntil(() => grantedSince().length > 0, 3000)).toBe(true);
        // A second grant would arrive right behind the first: give it the chance.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const grants = grantedSince();
        const next = grants[0]!;
        expect(grants, `round ${round} turn ${turn}`).toEqual([next]);
        holder = next;
      }
      await holder.release(id);
    }
    // Both nodes' rooms saw the same final state: nobody talks, nobody waits.
    // States may arrive out of order across nodes; the newest by `turn` is what counts.
    const newest = (m: PttTestClient) =>
      m
        .received<PttFloorState>(PTT_SERVER_EVENTS.floor)
        .filter((s) => s.channelId === id)
        .reduce<PttFloorState | null>((best, s) => {
          if (!best) return s;
          const key = (x: PttFloorState) => x.turn * 2 + (x.holder ? 0 : 1);
          return key(s) >= key(best) ? s : best;
        }, null);
    const turns = 3 * members.length;
    expect(
      await waitUntil(() =>
        members.every((m) => newest(m)?.turn === turns && newest(m)?.holder === null),
      ),
    ).toBe(true);
  });

  it('a talker on one node is heard by a listener on the other; a holder dropping on one node passes the floor to the other', async () => {
    const id = await channel();
    const talker = await member(1, 'Talker');
    const second = await member(1, 'Second');
    const listener = await member(0, 'Listener');
    const waiting = await member(0, 'Waiting');
    for (const c of [talker, second, listener, waiting]) await c.join(id);
    await talker.produce(id);
    await listener.consume(id);
    expect(listener.consumers(id).map((c) => c.producerId)).toEqual([talker.producerId(id)]);

    // A producer appearing on node B reaches the listener on node A as `ptt.consumer`.
    await second.produceWithoutMedia(id);
    const pushed = await listener.waitFor<PttConsumer>(PTT_SERVER_EVENTS.consumer);
    expect(pushed.payload.producerId).toBe(second.producerId(id));

    const granted: PttFloorRequestResult = await talker.request(id);
    expect(granted.outcome).toBe('granted');
    const producerId = talker.producerId(id);
    expect(await waitUntil(() => listener.inboundFrom(id, producerId) >= 10, 3000)).toBe(true);

    await waiting.produceWithoutMedia(id);
    expect((await waiting.request(id)).outcome).toBe('queued');
    const since = performance.now();
    talker.socket.disconnect();
    await waiting.waitFor<PttFloorGranted>(PTT_SERVER_EVENTS.granted, () => true, 3000, since);
    await waiting.release(id);
  });
});

describe('the SFU as its own service (SFU_URL)', () => {
  it('a backend reaches a remote SFU through its network client: floor and audio work', async () => {
    let service: Awaited<ReturnType<typeof startSfuService>> | null = null;
    const server = await startSfu({
      config: h.config.sfu,
      log: pino({ level: 'silent' }),
      onNotification: (n: SfuNotification) => service?.notify(n),
    });
    const secret = randomBytes(24).toString('hex');
    service = await startSfuService({
      api: server,
      host: '127.0.0.1',
      port: 0,
      secret,
      log: pino({ level: 'silent' }),
    });
    const node = await buildApp({
      config: { ...h.config, sfuUrl: service.url, sfuSecret: secret },
      database: h.db.database,
    });
    try {
      const url = await listen(node);
      const id = await channel();
      const people = [];
      for (const name of ['Remote talker', 'Remote listener']) {
        const user = await createUser(h.db.database.db, tenantId, {
          displayName: name,
          unitIds: [unitId],
        });
        const { accessToken } = await createDeviceSession(h.db.database.db, user);
        const c = await PttTestClient.connect(url, accessToken);
        clients.push(c);
        people.push(c);
      }
      const [talker, listener] = people as [PttTestClient, PttTestClient];
      await talker.join(id);
      await listener.join(id);
      await talker.produce(id);
      await listener.consume(id);
      const producerId = talker.producerId(id);
      expect(await waitUntil(() => listener.inboundFrom(id, producerId) > 0, 600)).toBe(false);
      expect((await talker.request(id)).outcome).toBe('granted');
      expect(await waitUntil(() => listener.inboundFrom(id, producerId) >= 10, 3000)).toBe(true);
      await talker.release(id);
      await talker.close();
      await listener.close();
    } finally {
      await node.close();
      await service.close();
      server.close();
    }
  });
});
