import type { ChatEnvelope, ChatSend } from '@trupp/shared';
import { describe, expect, it } from 'vitest';
import { MemoryChatStore } from './store.ts';
import { errorCode, type ChatTransport } from './transport.ts';
import { makeDevice, text, type TestDevice } from './test-support/devices.ts';
import { MemoryDeliveryService } from './test-support/memory-ds.ts';

const syncAll = async (...devices: TestDevice[]): Promise<void> => {
  for (const device of devices) await device.client.sync();
};

/** alice (a1), bob (b1) in one conversation, group created by a1 and joined by b1. */
async function pair(
  ds: MemoryDeliveryService,
): Promise<{ id: string; a1: TestDevice; b1: TestDevice }> {
  const a1 = await makeDevice(ds, 'alice', 'a1');
  const b1 = await makeDevice(ds, 'bob', 'b1');
  const id = ds.createConversation(['alice', 'bob']);
  await syncAll(a1, b1);
  return { id, a1, b1 };
}

/** Counts the saves of conversations and, when `failing`, fails them (the device dies saving). */
class WatchedStore extends MemoryChatStore {
  saves = 0;
  failing = false;

  constructor(readonly prefix: string) {
    super();
  }

  override async put(key: string, value: Uint8Array): Promise<void> {
    if (key.startsWith(this.prefix)) {
      if (this.failing) throw new Error('power cut');
      this.saves++;
    }
    await super.put(key, value);
  }
}

describe('ChatClient', () => {
  it('lets the first reconciling device create the group and every device, two of one user included, read', async () => {
    const ds = new MemoryDeliveryService();
    const a1 = await makeDevice(ds, 'alice', 'a1');
    const b1 = await makeDevice(ds, 'bob', 'b1');
    const b2 = await makeDevice(ds, 'bob', 'b2');
    const c1 = await makeDevice(ds, 'carol', 'c1');
    const id = ds.createConversation(['alice', 'bob', 'carol']);

    await syncAll(b2, a1, b1, c1);

    expect(ds.commitLog).toEqual([
      { conversationId: id, deviceId: 'b2', epoch: 0, accepted: true },
    ]);
    for (const d of [a1, b1, b2, c1]) expect(await d.client.epoch(id)).toBe(1);
    expect(ds.describe(id).pending).toEqual({ add: [], remove: [] });

    await a1.client.send(id, text('hello all'));
    await syncAll(a1, b1, b2, c1);

    expect(b1.texts()).toEqual(['hello all']);
    expect(b2.texts()).toEqual(['hello all']);
    expect(c1.texts()).toEqual(['hello all']);
    expect(b1.messages[0]).toMatchObject({
      senderUserId: 'alice',
      senderDeviceId: 'a1',
      own: false,
    });
    // The sender shows its own message once, although the server pushed it back.
    expect(a1.messages.map((m) => [m.own, m.seq])).toEqual([[true, 2]]);
    for (const d of [a1, b1, b2, c1]) expect(d.errors).toEqual([]);

    const devices = await c1.client.devices(id);
    expect(devices.map((d) => d.deviceId).sort()).toEqual(['a1', 'b1', 'b2', 'c1']);
    const bob1 = devices.find((d) => d.deviceId === 'b1');
    expect(bob1?.signaturePublicKey).toBe(b1.client.signaturePublicKey);
    expect(bob1?.safetyNumber).toMatch(/^\d{5}( \d{5}){5}$/);
  });

  it('accepts one commit per epoch when devices reconcile at the same time', async () => {
    const ds = new MemoryDeliveryService();
    const a1 = await makeDevice(ds, 'alice', 'a1');
    const b1 = await makeDevice(ds, 'bob', 'b1');
    const id = ds.createConversation(['alice', 'bob']);

    // Both see a conversation without a group and both try to create it.
    await Promise.all([a1.client.sync(), b1.client.sync()]);
    await syncAll(a1, b1);
    expect(
      ds.commitLog
        .filter((c) => c.epoch === 0)
        .map((c) => c.accepted)
        .sort(),
    ).toEqual([false, true]);
    expect(await a1.client.epoch(id)).toBe(1);
    expect(await b1.client.epoch(id)).toBe(1);

    // Both are in the group now and both try to add bob's new device.
    const b2 = await makeDevice(ds, 'bob', 'b2');
    await Promise.all([a1.client.sync(), b1.client.sync()]);
    await syncAll(b2, a1, b1);
    const accepted = ds.commitLog.filter((c) => c.accepted).map((c) => c.epoch);
    expect(accepted).toEqual([0, 1]);
    expect(ds.commitLog.filter((c) => c.epoch === 1)).toHaveLength(2);
    for (const d of [a1, b1, b2]) expect(await d.client.epoch(id)).toBe(2);

    await a1.client.send(id, text('from alice'));
    await b2.client.send(id, text('from bob 2'));
    await syncAll(a1, b1, b2);
    expect(a1.texts()).toEqual(['from bob 2']);
    expect(b1.texts()).toEqual(['from alice', 'from bob 2']);
    expect(b2.texts()).toEqual(['from alice']);
    for (const d of [a1, b1, b2]) expect(d.errors).toEqual([]);
  });

  it('locks a removed device out of later messages, even with its saved keys', async () => {
    const ds = new MemoryDeliveryService();
    const { id, a1, b1 } = await pair(ds);
    const b2 = await makeDevice(ds, 'bob', 'b2');
    await syncAll(a1, b2, b1);
    expect(await b2.client.isMember(id)).toBe(true);
    const savedKeys = b2.store.snapshot();

    ds.unregisterDevice('b2');
    await a1.client.sync();
    expect(await a1.client.epoch(id)).toBe(3);
    await a1.client.send(id, text('after removal'));
    await b1.client.sync();

    expect(b1.texts()).toEqual(['after removal']);
    expect(b1.system).toContainEqual(
      expect.objectContaining({ type: 'device_removed', deviceId: 'b2' }),
    );
    expect((await a1.client.devices(id)).map((d) => d.deviceId).sort()).toEqual(['a1', 'b1']);

    // Someone holding the removed device's keys and the ciphertext (e.g. a server dump).
    const [removal, secret] = ds.messages(id).slice(-2) as [ChatEnvelope, ChatEnvelope];
    expect(removal.kind).toBe('commit');
    const leaked = (feed: ChatEnvelope[]): ChatTransport => ({
      ...ds.transport('a1'),
      keyPackageCount: async () => 100,
      listConversations: async () => [],
      fetchWelcomes: async () => [],
      fetchMessages: async (_id, after) => feed.filter((m) => m.seq > after),
      delivered: async () => undefined,
    });

    // Fed the new message directly, the old epoch's keys cannot open it.
    const direct = await makeDevice(ds, 'bob', 'b2', {
      store: savedKeys.snapshot(),
      transport: leaked([secret]),
    });
    await direct.client.handleEnvelope(secret);
    expect(direct.messages).toEqual([]);
    expect(direct.errors.map((e) => [e.seq, e.reason])).toEqual([[secret.seq, 'undecryptable']]);

    // Fed everything, it processes its own removal and stops.
    const full = await makeDevice(ds, 'bob', 'b2', {
      store: savedKeys.snapshot(),
      transport: leaked([removal, secret]),
    });
    await full.client.handleEnvelope(secret);
    expect(full.messages).toEqual([]);
    expect(await full.client.isMember(id)).toBe(false);
  });

  it('shows a device added later only what is sent after it joined, and tells the others', async () => {
    const ds = new MemoryDeliveryService();
    const { id, a1, b1 } = await pair(ds);
    await a1.client.send(id, text('before'));
    await b1.client.sync();

    const b2 = await makeDevice(ds, 'bob', 'b2');
    await a1.client.sync();
    await b1.client.sync();
    const added = { conversationId: id, type: 'device_added', userId: 'bob', deviceId: 'b2' };
    expect(a1.system).toContainEqual(expect.objectContaining(added));
    expect(b1.system).toContainEqual(expect.objectContaining(added));

    await b2.client.sync();
    expect(b2.system).toContainEqual(expect.objectContaining({ type: 'joined', deviceId: 'b2' }));
    await a1.client.send(id, text('after'));
    await b2.client.sync();
    expect(b2.texts()).toEqual(['after']);

    // The old message pushed late is ignored, not shown and not an error.
    const before = ds.messages(id).find((m) => m.kind === 'application') as ChatEnvelope;
    await b2.client.handleEnvelope(before);
    expect(b2.texts()).toEqual(['after']);
    expect(b2.errors).toEqual([]);
  });

  it('resends under the same clientId when the epoch was stale, without duplicates', async () => {
    const ds = new MemoryDeliveryService();
    const b1 = await makeDevice(ds, 'bob', 'b1');
    const sends: ChatSend[] = [];
    const inner = ds.transport('a1');
    ds.registerDevice('alice', 'a1');
    const a1 = await makeDevice(ds, 'alice', 'a1', {
      transport: { ...inner, send: (m) => (sends.push(m), inner.send(m)) },
    });
    const id = ds.createConversation(['alice', 'bob']);
    await syncAll(a1, b1);

    // b1 moves the group on; a1 has not seen the commit yet.
    const b2 = await makeDevice(ds, 'bob', 'b2');
    await b1.client.sync();
    await b2.client.sync();
    const result = await a1.client.send(id, text('once'));

    expect(sends.map((s) => s.epoch)).toEqual([1, 2]);
    expect(sends[1]?.clientId).toBe(sends[0]?.clientId);
    expect(ds.messages(id).filter((m) => m.kind === 'application')).toHaveLength(1);
    await syncAll(a1, b1, b2);
    expect(b1.texts()).toEqual(['once']);
    expect(b2.texts()).toEqual(['once']);
    expect(a1.messages.map((m) => m.seq)).toEqual([result.seq]);
  });

  it('continues from the stored state after a restart', async () => {
    const ds = new MemoryDeliveryService();
    const { id, a1, b1 } = await pair(ds);
    await a1.client.send(id, text('first'));
    await b1.client.sync();
    const keyPackages = ds.keyPackages.get('b1')?.length;

    const restarted = await makeDevice(ds, 'bob', 'b1', { store: b1.store });
    expect(restarted.client.signaturePublicKey).toBe(b1.client.signaturePublicKey);
    expect(ds.keyPackages.get('b1')?.length).toBe(keyPackages);
    await a1.client.send(id, text('second'));
    await restarted.client.sync();

    expect(restarted.texts()).toEqual(['second']);
    expect(restarted.system).toEqual([]);
    expect(await restarted.client.epoch(id)).toBe(1);
    expect(ds.commitLog).toHaveLength(1);
  });

  it('forgets every stored key', async () => {
    const ds = new MemoryDeliveryService();
    const { id, b1 } = await pair(ds);
    expect(await b1.client.isMember(id)).toBe(true);
    await b1.client.forget();
    expect(await b1.store.keys('')).toEqual([]);
    expect(await b1.client.isMember(id)).toBe(false);
  });

  it('sends messages prepared ahead unchanged, after saving the ratchet, and refuses them once the epoch moved', async () => {
    const ds = new MemoryDeliveryService();
    const sends: ChatSend[] = [];
    ds.registerDevice('alice', 'a1');
    const inner = ds.transport('a1');
    const a1 = await makeDevice(ds, 'alice', 'a1', {
      transport: { ...inner, send: (m) => (sends.push(m), inner.send(m)) },
    });
    const b1 = await makeDevice(ds, 'bob', 'b1');
    const id = ds.createConversation(['alice', 'bob']);
    await syncAll(a1, b1);

    const first = await a1.client.prepare(id, text('prepared 1'));
    const second = await a1.client.prepare(id, text('prepared 2'));
    expect(first.message).toMatchObject({ conversationId: id, epoch: 1 });
    expect(sends).toEqual([]);
    // A restart right after preparing: the stored ratchet is past both prepared messages,
    // so the restarted device never encrypts under their keys again.
    const restarted = await makeDevice(ds, 'alice', 'a1', {
      store: a1.store.snapshot(),
      transport: inner,
    });

    const r1 = await a1.client.sendPrepared(first);
    await a1.client.sendPrepared(second);
    await restarted.client.send(id, text('after restart'));
    expect(sends.map((m) => m.payload)).toEqual([first.message.payload, second.message.payload]);
    expect(sends[0]).toEqual(first.message);
    expect(a1.messages.map((m) => [m.seq, m.own])).toEqual([
      [r1.seq, true],
      [r1.seq + 1, true],
    ]);
    await b1.client.sync();
    expect(b1.texts()).toEqual(['prepared 1', 'prepared 2', 'after restart']);
    expect(b1.errors).toEqual([]);

    // The group moves on (bob's second device): a message prepared before is refused.
    const stale = await a1.client.prepare(id, text('too late'));
    const b2 = await makeDevice(ds, 'bob', 'b2');
    await b1.client.sync();
    await b2.client.sync();
    const refused = await a1.client.sendPrepared(stale).catch((error: unknown) => error);
    expect(errorCode(refused)).toBe('CHAT_EPOCH_STALE');
    expect(ds.messages(id).filter((m) => m.kind === 'application')).toHaveLength(3);
  });

  it('saves pushed envelopes that queued up once, and a crash before that save loses none of them', async () => {
    const ds = new MemoryDeliveryService();
    const reported: number[] = [];
    const store = new WatchedStore('chat/conv/');
    const a1 = await makeDevice(ds, 'alice', 'a1');
    const b1 = await makeDevice(ds, 'bob', 'b1', {
      store,
      transport: { ...ds.transport('b1'), delivered: async (_id, seq) => void reported.push(seq) },
    });
    const id = ds.createConversation(['alice', 'bob']);
    await syncAll(a1, b1);
    expect(await b1.client.epoch(id)).toBe(1);

    for (const t of ['one', 'two', 'three']) await a1.client.send(id, text(t));
    const pushed = ds.messages(id).slice(-3);
    store.saves = 0;
    // Pushed together (out of order, one twice): one batch, processed in seq order, one save.
    await Promise.all(
      [pushed[1]!, pushed[0]!, pushed[2]!, pushed[1]!].map((e) => b1.client.handleEnvelope(e)),
    );
    expect(b1.texts()).toEqual(['one', 'two', 'three']);
    expect(store.saves).toBe(1);
    expect(reported.at(-1)).toBe(pushed[2]!.seq);

    // The next batch is decrypted, then the device dies while saving it.
    for (const t of ['four', 'five']) await a1.client.send(id, text(t));
    store.failing = true;
    const reportedBefore = reported.length;
    const lost = ds.messages(id).slice(-2);
    const crashed = await Promise.all(lost.map((e) => b1.client.handleEnvelope(e))).catch(
      (error: unknown) => error,
    );
    expect(crashed).toBeInstanceOf(Error);
    expect(b1.texts()).toEqual(['one', 'two', 'three', 'four', 'five']);
    // Never reported as delivered: the device did not keep them.
    expect(reported).toHaveLength(reportedBefore);

    // Restarted from what is on disk, the state from before the batch: it still holds the
    // keys of both.
    const restarted = await makeDevice(ds, 'bob', 'b1', { store: store.snapshot() });
    await restarted.client.sync();
    expect(restarted.texts()).toEqual(['four', 'five']);
    expect(restarted.errors).toEqual([]);
    await a1.client.send(id, text('six'));
    await restarted.client.sync();
    expect(restarted.texts()).toEqual(['four', 'five', 'six']);
  });

  it('reports an undecodable message as an error and goes on with the next', async () => {
    const ds = new MemoryDeliveryService();
    const { id, a1, b1 } = await pair(ds);
    await a1.client.send(id, text('good'));
    const bad = ds.messages(id).at(-1) as ChatEnvelope;
    ds.messages(id).push({ ...bad, id: 'x', seq: bad.seq + 1, payload: 'AAAA' });
    await b1.client.sync();
    expect(b1.texts()).toEqual(['good']);
    expect(b1.errors.map((e) => e.seq)).toEqual([bad.seq + 1]);
  });
});

describe('ChatClient timing', () => {
  it('measures encrypt and decrypt per message', { timeout: 120_000 }, async () => {
    const ds = new MemoryDeliveryService();
    const members = 50;
    const devices: TestDevice[] = [];
    for (let i = 0; i < members; i++) devices.push(await makeDevice(ds, `u${i}`, `d${i}`));
    const id = ds.createConversation(devices.map((_, i) => `u${i}`));
    await syncAll(...devices.slice(0, 2));
    const [sender, receiver] = devices as [TestDevice, TestDevice];
    for (const d of devices.slice(2)) await d.client.sync();
    await receiver.client.sync();
    expect(await receiver.client.epoch(id)).toBe(1);

    const n = 100;
    let t = performance.now();
    for (let i = 0; i < n; i++) await sender.client.send(id, text(`m${i}`));
    const sendMs = (performance.now() - t) / n;
    t = performance.now();
    await receiver.client.sync();
    const receiveMs = (performance.now() - t) / n;
    expect(receiver.texts()).toHaveLength(n);

    const stateBytes = (await receiver.store.get(`chat/conv/${id}`))?.length;
    // Informational for the load-test plan; nothing to assert on a shared machine.
    // eslint-disable-next-line no-console
    console.log(
      `chat-client ${members} members: send ${sendMs.toFixed(2)} ms/msg, receive ${receiveMs.toFixed(2)} ms/msg ` +
        `(both including persistence of ${stateBytes} bytes of group state)`,
    );
  });
});
