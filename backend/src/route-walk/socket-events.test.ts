import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { ERROR_CODES, type SocketAck } from '@trupp/shared';
import { createTestApp, type TestApp } from '../test/helper.ts';
import { connectSocket, listen } from '../test/realtime.ts';
import {
  idForName,
  invalidBodies,
  sampleFromSchema,
  seedTenant,
  type SeededTenant,
} from '../test/route-walk.ts';

/**
 * Bad input on every registered socket event: each generated invalid payload (wrong
 * types, missing fields, bad formats, oversized strings) is answered with a coded 4xx
 * acknowledgement, never a 5xx and never silence.
 */
let h: TestApp;
let url: string;
let a: SeededTenant;
const sockets: Socket[] = [];

beforeAll(async () => {
  h = await createTestApp();
  url = await listen(h.app);
  a = await seedTenant(h.db.database.db, 'a');
  // The walking admin shares their position, so position reports get past that check.
  const shared = await h.app.inject({
    method: 'PUT',
    url: '/api/me/position-sharing',
    headers: { authorization: `Bearer ${await a.token(a.ids.adminId)}` },
    payload: { on: true },
  });
  expect(shared.statusCode).toBe(200);
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await h?.close();
});

describe('bad input on every socket event', () => {
  it('gets a coded 4xx acknowledgement', async () => {
    const events = h.app.realtime.events();
    expect(events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['sync', 'alarm.ack', 'alarm.respond', 'position.report']),
    );
    const bad: string[] = [];
    let sent = 0;
    for (const { event, schema } of events) {
      // A socket per event keeps each under the per-socket event rate limit.
      const socket = await connectSocket(url, await a.token(a.ids.adminId));
      sockets.push(socket);
      const valid = sampleFromSchema(schema as never, (name) =>
        idForName(name, a.ids, a.tenantId),
      ) as Record<string, unknown>;
      // Messages over the transport's 64 KB limit are not answered but cut off (below).
      const variants = invalidBodies(schema as never, valid).filter(
        (v) => !v.label.startsWith('huge'),
      );
      for (const variant of variants) {
        const ack = (await socket
          .timeout(5000)
          .emitWithAck(event, variant.body)) as SocketAck<unknown>;
        sent += 1;
        const ok =
          !ack.ok &&
          ack.error.statusCode >= 400 &&
          ack.error.statusCode < 500 &&
          ack.error.statusCode !== 429 &&
          (ERROR_CODES as string[]).includes(ack.error.code);
        if (!ok) bad.push(`${event} [${variant.label}] → ${JSON.stringify(ack).slice(0, 160)}`);
      }
    }
    expect(bad).toEqual([]);
    expect(sent).toBeGreaterThan(20);
  });

  it('cuts off a socket that sends more than 64 KB at once; the server carries on', async () => {
    const socket = await connectSocket(url, await a.token(a.ids.adminId));
    sockets.push(socket);
    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    socket.emit('alarm.ack', { alarmId: 'x'.repeat(300_000) });
    expect(await closed).toBe('transport close');
    const fresh = await connectSocket(url, await a.token(a.ids.adminId));
    sockets.push(fresh);
    const ack = (await fresh
      .timeout(5000)
      .emitWithAck('alarm.ack', { alarmId: 'x' })) as SocketAck<null>;
    expect(ack).toEqual({ ok: true, data: null });
  });
});
