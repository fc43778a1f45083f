import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import {
  ChatClient,
  MemoryChatStore,
  encryptBlob,
  httpChatTransport,
  type ChatMessageEvent,
  type ChatStore,
} from '@trupp/chat-client';
import type { ChatContent, ChatConversation, ChatEnvelope } from '@trupp/shared';
import { chatBlobs, chatMessages, tenants } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import { injectChatRequest, testChatClient } from '../../test/chat-client.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
  type TestUser,
} from '../../test/factories.ts';
import { revokeDevice } from '../devices/service.ts';
import { applyRetention } from '../retention/service.ts';
import { blobFileExists } from './service.ts';

/**
 * The chat delivery service with real MLS clients (@trupp/chat-client) talking to the
 * real routes and MariaDB: groups, one commit per epoch, revocation, new devices,
 * offline catch-up, retention, bad input, tenant isolation and the auditor's view.
 */
let h: TestApp;
let blobsDir: string;
let tenantId: string;

interface Device {
  user: TestUser;
  deviceId: string;
  token: string;
  api: ReturnType<typeof apiAs>;
  store: ChatStore;
  client: ChatClient;
  messages: ChatMessageEvent[];
}

async function device(user: TestUser, store: ChatStore = new MemoryChatStore()): Promise<Device> {
  const { accessToken, deviceId } = await createDeviceSession(h.db.database.db, user);
  return clientFor(user, deviceId, accessToken, store);
}

function clientFor(user: TestUser, deviceId: string, token: string, store: ChatStore): Device {
  const client = testChatClient(h.app, { userId: user.id, deviceId, token }, store);
  const d: Device = {
    user,
    deviceId,
    token,
    api: apiAs(h.app, token),
    store,
    client,
    messages: [],
  };
  client.on('message', (m) => d.messages.push(m));
  return d;
}

async function person(name: string, options: Parameters<typeof createUser>[2] = {}) {
  return createUser(h.db.database.db, tenantId, { displayName: name, ...options });
}

const text = (t: string): ChatContent => ({ v: 1, type: 'text', id: randomUUID(), text: t });
const texts = (d: Device) =>
  d.messages.map((m) => (m.content.type === 'text' ? m.content.text : `[${m.content.type}]`));

async function createGroup(owner: Device, title: string, others: TestUser[]) {
  const res = await owner.api('POST', '/api/chat/conversations', {
    kind: 'group',
    title,
    userIds: others.map((u) => u.id),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<ChatConversation>();
}

async function conversation(d: Device, id: string): Promise<ChatConversation> {
  const res = await d.api('GET', `/api/chat/conversations/${id}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<ChatConversation>();
}

async function dumpChatTables(): Promise<string> {
  const [tables] = (await h.db.database.db.execute(
    sql`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'chat\\_%'`,
  )) as unknown as [Array<{ t: string }>];
  let dump = '';
  for (const { t } of tables) {
    const [rows] = (await h.db.database.db.execute(
      sql.raw(`SELECT * FROM \`${t}\``),
    )) as unknown as [unknown[]];
    dump += JSON.stringify(rows);
  }
  return dump;
}

beforeAll(async () => {
  blobsDir = await mkdtemp(join(tmpdir(), 'trupp-chat-blobs-'));
  h = await createTestApp({ CHAT_BLOBS_DIR: blobsDir });
  tenantId = (await createTenant(h.db.database.db)).id;
});
afterAll(async () => h?.close());

describe('an end-to-end encrypted group', () => {
  let anna: Device;
  let anna2: Device;
  let ben: Device;
  let cara: Device;
  let groupId: string;

  it('is created by the first member device and every member device reads the messages', async () => {
    const [a, b, c] = [await person('Anna'), await person('Ben'), await person('Cara')];
    anna = await device(a);
    anna2 = await device(a);
    ben = await device(b);
    cara = await device(c);
    for (const d of [anna, anna2, ben, cara]) await d.client.init();

    const created = await createGroup(anna, 'Löschzug 1', [b, c]);
    groupId = created.id;
    expect(created.epoch).toBeNull();
    expect(created.pending.add.map((d) => d.deviceId).sort()).toEqual(
      [anna.deviceId, anna2.deviceId, ben.deviceId, cara.deviceId].sort(),
    );

    await anna.client.sync();
    const afterCreate = await conversation(anna, groupId);
    expect(afterCreate.epoch).toBe(1);
    expect(afterCreate.pending.add).toEqual([]);
    expect(afterCreate.devices).toHaveLength(4);

    for (const d of [anna2, ben, cara]) await d.client.sync();
    await anna.client.send(groupId, text('Fahrzeug ist besetzt'));
    await ben.client.send(groupId, text('Bin in 5 Minuten da'));
    for (const d of [anna, anna2, ben, cara]) await d.client.sync();

    expect(texts(anna2)).toEqual(['Fahrzeug ist besetzt', 'Bin in 5 Minuten da']);
    expect(texts(cara)).toEqual(['Fahrzeug ist besetzt', 'Bin in 5 Minuten da']);
    // The sender's own message comes from its send result, once.
    expect(texts(anna)).toEqual(['Fahrzeug ist besetzt', 'Bin in 5 Minuten da']);
    expect(anna.messages[0]!.own).toBe(true);

    const dump = await dumpChatTables();
    expect(dump).not.toContain('Fahrzeug ist besetzt');
    expect(dump).not.toContain('Bin in 5 Minuten');
  });

  it('counts unread messages, delivery and read receipts per message', async () => {
    const list = (await cara.api('GET', '/api/chat/conversations')).json<ChatConversation[]>();
    const mine = list.find((c) => c.id === groupId)!;
    expect(mine.unread).toBe(2);
    const last = mine.lastSeq;
    expect(
      (await cara.api('POST', `/api/chat/conversations/${groupId}/read`, { seq: last })).statusCode,
    ).toBe(204);
    const after = (
      await cara.api('GET', `/api/chat/conversations/${groupId}`)
    ).json<ChatConversation>();
    expect(after.unread).toBe(0);

    const receipts = (
      await anna.api('GET', `/api/chat/conversations/${groupId}/receipts?from=1&to=${last}`)
    ).json<
      Array<{ seq: number; delivered: number; read: number; devices: number; members: number }>
    >();
    const annas = receipts.find((r) => r.seq === last - 1)!;
    // Anna's message: Ben's and Cara's devices fetched it; Ben (sent after it) and Cara read it.
    expect(annas).toMatchObject({ delivered: 2, devices: 2, read: 2, members: 2 });
  });

  it('takes exactly one commit per epoch; the loser gets CHAT_EPOCH_CONFLICT', async () => {
    const epoch = (await conversation(anna, groupId)).epoch!;
    const commit = async (d: Device) =>
      d.api('POST', `/api/chat/conversations/${groupId}/commits`, {
        epoch,
        // A well-formed MLS header is all the server can check; content is opaque to it.
        commit: Buffer.from([0, 1, 0, 1, 9, 9, 9, 9, 9, 9]).toString('base64'),
        adds: [],
        removes: [],
      });
    const results = await Promise.all([commit(anna2), commit(ben), commit(cara)]);
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 409, 409]);
    expect(results.filter((r) => r.statusCode === 409).map((r) => r.json().code)).toEqual([
      'CHAT_EPOCH_CONFLICT',
      'CHAT_EPOCH_CONFLICT',
    ]);
    expect((await conversation(anna, groupId)).epoch).toBe(epoch + 1);
  });

  it('refuses a message for an old epoch, and a retry with the same clientId is stored once', async () => {
    const epoch = (await conversation(anna, groupId)).epoch!;
    const payload = Buffer.from([0, 1, 0, 2, 1, 2, 3, 4, 5, 6]).toString('base64');
    const clientId = randomUUID();
    const stale = await anna.api('POST', `/api/chat/conversations/${groupId}/messages`, {
      clientId,
      epoch: epoch - 1,
      payload,
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('CHAT_EPOCH_STALE');
    const first = await anna.api('POST', `/api/chat/conversations/${groupId}/messages`, {
      clientId,
      epoch,
      payload,
    });
    const again = await anna.api('POST', `/api/chat/conversations/${groupId}/messages`, {
      clientId,
      epoch,
      payload,
    });
    expect(first.statusCode).toBe(200);
    expect(again.json().seq).toBe(first.json().seq);
    const rows = await h.db.database.db
      .select()
      .from(chatMessages)
      .where(eq(chatMessages.clientId, clientId));
    expect(rows).toHaveLength(1);
  });
  it('stores simultaneous sends with gap-free seqs; a bad one fails alone', async () => {
    const before = await conversation(anna, groupId);
    const epoch = before.epoch!;
    const payload = Buffer.from([0, 1, 0, 2, 7, 7, 7, 7, 7, 7]).toString('base64');
    const ids = Array.from({ length: 40 }, () => randomUUID());
    const post = (d: Device, clientId: string, e = epoch) =>
      d.api('POST', `/api/chat/conversations/${groupId}/messages`, { clientId, epoch: e, payload });
    const results = await Promise.all([
      ...ids.map((id, i) => post(i % 2 ? ben : cara, id)),
      post(ben, ids[1]!), // the same message again (a double tap)
      post(cara, randomUUID(), epoch + 5), // encrypted for an epoch that does not exist
    ]);
    const seqs = results.slice(0, 40).map((r) => r.json<{ seq: number }>().seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => before.lastSeq + 1 + i),
    );
    expect(results[40]!.json<{ seq: number }>().seq).toBe(seqs[1]);
    expect(results[41]!.statusCode).toBe(409);
    expect(results[41]!.json().code).toBe('CHAT_EPOCH_STALE');
    expect((await conversation(anna, groupId)).lastSeq).toBe(before.lastSeq + 40);
  });
});

describe('devices come and go', () => {
  it('a revoked device cannot decrypt what is sent after; a new device reads from its joining on', async () => {
    const [d, e] = [await person('Dora'), await person('Emil')];
    const dora = await device(d);
    const emil = await device(e);
    for (const x of [dora, emil]) await x.client.init();
    const group = await createGroup(dora, 'Atemschutz', [e]);
    await dora.client.sync();
    await emil.client.sync();
    await dora.client.send(group.id, text('vor dem Widerruf'));
    await emil.client.sync();
    expect(texts(emil)).toEqual(['vor dem Widerruf']);

    // Emil's phone is lost: keep a copy of what was on it, then wipe it remotely.
    const stolen = new MemoryChatStore();
    for (const key of await emil.store.keys(''))
      await stolen.put(key, (await emil.store.get(key))!);
    // Sent while the phone is already gone but not yet revoked: the stolen keys open it,
    // which shows the thief below is a working client, not one that opens nothing.
    await dora.client.send(group.id, text('kurz davor'));
    await revokeDevice({ db: h.db.database.db, bus: h.app.bus }, tenantId, emil.deviceId, {
      reason: 'admin',
      wipe: true,
      actor: {},
    });
    const pending = await conversation(dora, group.id);
    expect(pending.pending.remove.map((x) => x.deviceId)).toEqual([emil.deviceId]);
    await dora.client.sync();
    expect((await conversation(dora, group.id)).devices.map((x) => x.deviceId)).toEqual([
      dora.deviceId,
    ]);
    await dora.client.send(group.id, text('nach dem Widerruf'));

    // The revoked token is refused …
    const refused = await emil.api('GET', `/api/chat/conversations/${group.id}/messages`);
    expect(refused.statusCode).toBe(401);
    // … and even with every message handed over, the stolen keys cannot open the new one.
    const all = (
      await dora.api('GET', `/api/chat/conversations/${group.id}/messages?after=0`)
    ).json<ChatEnvelope[]>();
    const thief = new ChatClient({
      userId: e.id,
      deviceId: emil.deviceId,
      store: stolen,
      reconcileJitterMs: 0,
      deliveredIntervalMs: 0,
      transport: {
        ...httpChatTransport(injectChatRequest(h.app, dora.token)),
        fetchMessages: async (_id, after) => all.filter((m) => m.seq > after),
        delivered: async () => undefined,
      },
    });
    const stolenRead: string[] = [];
    const stolenErrors: unknown[] = [];
    thief.on('message', (m) => stolenRead.push(m.content.type === 'text' ? m.content.text : ''));
    thief.on('error', (err) => stolenErrors.push(err));
    for (const envelope of all) await thief.handleEnvelope(envelope);
    expect(stolenRead).toEqual(['kurz davor']);
    expect(stolenRead).not.toContain('nach dem Widerruf');

    // Emil's new phone: it is added by Dora's client and reads what comes next only.
    const emilNew = await device(e);
    await emilNew.client.init();
    expect((await conversation(dora, group.id)).pending.add.map((x) => x.deviceId)).toEqual([
      emilNew.deviceId,
    ]);
    const systemEvents: string[] = [];
    dora.client.on('system', (s) => systemEvents.push(`${s.type}:${s.deviceId}`));
    await dora.client.sync();
    expect(systemEvents).toContain(`device_added:${emilNew.deviceId}`);
    await emilNew.client.sync();
    await dora.client.send(group.id, text('willkommen zurück'));
    await emilNew.client.sync();
    expect(texts(emilNew)).toEqual(['willkommen zurück']);
  });

  it('a device that was offline gets every message on reconnect, once', async () => {
    const [f, g] = [await person('Frieda'), await person('Gustav')];
    const frieda = await device(f);
    const gustav = await device(g);
    for (const x of [frieda, gustav]) await x.client.init();
    const group = await createGroup(frieda, 'Nachtschicht', [g]);
    await frieda.client.sync();
    await gustav.client.sync();
    const sent = Array.from({ length: 12 }, (_, i) => `Lage ${i + 1}`);
    for (const t of sent) await frieda.client.send(group.id, text(t));
    await gustav.client.sync();
    await gustav.client.sync();
    expect(texts(gustav)).toEqual(sent);
    // A second client on the same store (the app restarted) has nothing new to show.
    const restarted = clientFor(g, gustav.deviceId, gustav.token, gustav.store);
    await restarted.client.init();
    await restarted.client.sync();
    expect(restarted.messages).toEqual([]);
  });
});

describe('retention and attachments', () => {
  it('stores attachments as opaque bytes and deletes expired ciphertext and blobs', async () => {
    const [i, j] = [await person('Ida'), await person('Jan')];
    const ida = await device(i);
    const jan = await device(j);
    for (const x of [ida, jan]) await x.client.init();
    const group = await createGroup(ida, 'Fotos', [j]);
    await ida.client.sync();
    await jan.client.sync();

    const photo = new TextEncoder().encode('PNG-pretend gas valve photo');
    const sealed = await encryptBlob(photo);
    const upload = await h.app.inject({
      method: 'POST',
      url: `/api/chat/conversations/${group.id}/blobs`,
      headers: { authorization: `Bearer ${ida.token}`, 'content-type': 'application/octet-stream' },
      payload: Buffer.from(sealed.ciphertext),
    });
    expect(upload.statusCode, upload.body).toBe(201);
    const { blobId } = upload.json<{ blobId: string }>();
    const onDisk = await readFile(join(blobsDir, tenantId, blobId));
    expect(onDisk.toString('utf8')).not.toContain('gas valve');
    const fetched = await jan.api('GET', `/api/chat/blobs/${blobId}`);
    expect(fetched.statusCode).toBe(200);
    expect(Buffer.from(fetched.rawPayload).equals(onDisk)).toBe(true);

    await ida.client.send(group.id, text('alt'));
    // Age everything of this conversation by 10 days; the tenant keeps chat for 7.
    await h.db.database.db
      .update(tenants)
      .set({ retentionChatDays: 7 })
      .where(eq(tenants.id, tenantId));
    const old = new Date(Date.now() - 10 * 86_400_000);
    await h.db.database.db
      .update(chatMessages)
      .set({ createdAt: old })
      .where(eq(chatMessages.conversationId, group.id));
    await h.db.database.db
      .update(chatBlobs)
      .set({ createdAt: old })
      .where(eq(chatBlobs.id, blobId));
    await ida.client.send(group.id, text('neu'));

    const [result] = (
      await applyRetention({ db: h.db.database.db, bus: h.app.bus, config: h.config })
    ).filter((r) => r.tenantId === tenantId);
    expect(result!.chatBlobsDeleted).toBe(1);
    expect(result!.chatMessagesDeleted).toBeGreaterThanOrEqual(2);
    expect(await blobFileExists(blobsDir, tenantId, blobId)).toBe(false);
    expect((await jan.api('GET', `/api/chat/blobs/${blobId}`)).statusCode).toBe(404);
    await jan.client.sync();
    expect(texts(jan)).toEqual(['neu']);
    const conv = await conversation(jan, group.id);
    expect(conv.retentionDays).toBe(7);
  });

  it('refuses an attachment over the tenant limit with CHAT_BLOB_TOO_LARGE', async () => {
    const k = await person('Kai');
    const kai = await device(k);
    await kai.client.init();
    const group = await createGroup(kai, 'Groß', []);
    await kai.client.sync();
    await h.db.database.db.update(tenants).set({ chatUploadMb: 1 }).where(eq(tenants.id, tenantId));
    const res = await h.app.inject({
      method: 'POST',
      url: `/api/chat/conversations/${group.id}/blobs`,
      headers: { authorization: `Bearer ${kai.token}`, 'content-type': 'application/octet-stream' },
      payload: Buffer.alloc(1024 * 1024 + 1, 7),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('CHAT_BLOB_TOO_LARGE');
    expect(await readdir(join(blobsDir, tenantId))).not.toContain(undefined);
  });
});

describe('the edge', () => {
  it('answers bad input, strangers and other tenants with 4xx codes', async () => {
    const [l, m] = [await person('Lena'), await person('Mats')];
    const lena = await device(l);
    const mats = await device(m);
    await lena.client.init();
    const group = await createGroup(lena, 'Privat', []);
    await lena.client.sync();
    const epoch = (await conversation(lena, group.id)).epoch!;

    const notMls = await lena.api('POST', `/api/chat/conversations/${group.id}/messages`, {
      clientId: randomUUID(),
      epoch,
      payload: Buffer.from('hello in plain text').toString('base64'),
    });
    expect(notMls.statusCode).toBe(400);
    const huge = await lena.api('POST', `/api/chat/conversations/${group.id}/messages`, {
      clientId: randomUUID(),
      epoch,
      payload: 'A'.repeat(400_000),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('PAYLOAD_TOO_LARGE');
    const wrongType = await lena.api('POST', `/api/chat/conversations/${group.id}/messages`, {
      clientId: 'not-a-uuid',
      epoch: '1',
      payload: 5,
    });
    expect(wrongType.statusCode).toBe(400);
    // Mats is not a member: the conversation does not exist for him.
    const stranger = await mats.api('GET', `/api/chat/conversations/${group.id}/messages`);
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json().code).toBe('CHAT_CONVERSATION_NOT_FOUND');
    const badKeys = await mats.api('POST', '/api/chat/key-packages', {
      signaturePublicKey: Buffer.alloc(32).toString('base64'),
      keyPackages: [Buffer.from('not a key package').toString('base64')],
    });
    expect(badKeys.statusCode).toBe(400);
    expect(badKeys.json().code).toBe('CHAT_KEY_PACKAGE_INVALID');

    // Another tenant's member sees none of it.
    const otherTenant = await createTenant(h.db.database.db);
    const outsider = await createUser(h.db.database.db, otherTenant.id);
    const { accessToken } = await createDeviceSession(h.db.database.db, outsider);
    const api = apiAs(h.app, accessToken);
    expect((await api('GET', `/api/chat/conversations/${group.id}`)).statusCode).toBe(404);
    expect((await api('GET', '/api/chat/conversations')).json()).toEqual([]);
    const claim = await api('POST', '/api/chat/key-packages/claim', { deviceIds: [lena.deviceId] });
    expect(claim.statusCode).toBe(404);
    expect(claim.json().code).toBe('DEVICE_NOT_FOUND');
    const direct = await api('POST', '/api/chat/conversations', {
      kind: 'direct',
      userIds: [l.id],
    });
    expect(direct.statusCode).toBe(404);
  });

  it('takes simultaneous key uploads of a new device (first use racing a refill)', async () => {
    const r = await person('Rosa');
    const { accessToken } = await createDeviceSession(h.db.database.db, r);
    const api = apiAs(h.app, accessToken);
    const upload = (n: number) =>
      api('POST', '/api/chat/key-packages', {
        signaturePublicKey: Buffer.alloc(32, 1).toString('base64'),
        keyPackages: Array.from({ length: 3 }, (_, i) =>
          Buffer.from([0, 1, 0, 5, n, i, 9, 9, 9, 9]).toString('base64'),
        ),
      });
    const results = await Promise.all([upload(1), upload(2), upload(3)]);
    expect(results.map((x) => x.statusCode)).toEqual([200, 200, 200]);
    expect((await api('GET', '/api/chat/key-packages/count')).json()).toEqual({ available: 9 });
  });

  it('keeps one 1:1 conversation per pair', async () => {
    const [n, o] = [await person('Nele'), await person('Olaf')];
    const nele = await device(n);
    const olaf = await device(o);
    const first = await nele.api('POST', '/api/chat/conversations', {
      kind: 'direct',
      userIds: [o.id],
    });
    const second = await olaf.api('POST', '/api/chat/conversations', {
      kind: 'direct',
      userIds: [n.id],
    });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(200);
    expect(second.json().id).toBe(first.json().id);
  });

  it('lets unit chats follow the unit and shows auditors metadata only', async () => {
    const unit = await createUnit(h.db.database.db, tenantId, { name: 'Wache Nord' });
    const lead = await createUser(h.db.database.db, tenantId, {
      role: 'lead',
      displayName: 'Paula',
    });
    const member = await person('Quentin', { unitIds: [unit.id] });
    const leadDevice = await device(lead);
    const created = await leadDevice.api('POST', '/api/chat/conversations', {
      kind: 'unit',
      unitId: unit.id,
    });
    expect(created.statusCode, created.body).toBe(201);
    const conv = created.json<ChatConversation>();
    expect(conv.members.map((x) => x.userId).sort()).toEqual([lead.id, member.id].sort());
    // A plain member may not create unit chats.
    const memberDevice = await device(member);
    const refused = await memberDevice.api('POST', '/api/chat/conversations', {
      kind: 'unit',
      unitId: unit.id,
    });
    expect(refused.statusCode).toBe(403);

    const auditor = await createUser(h.db.database.db, tenantId, { role: 'auditor' });
    const auditorApi = apiAs(
      h.app,
      (await createDeviceSession(h.db.database.db, auditor)).accessToken,
    );
    const meta = await auditorApi('GET', '/api/chat/metadata/conversations');
    expect(meta.statusCode).toBe(200);
    const row = meta
      .json<Array<{ id: string; memberUserIds: string[] }>>()
      .find((c) => c.id === conv.id);
    expect(row!.memberUserIds.sort()).toEqual([lead.id, member.id].sort());
    // Names come along: auditors cannot read the member directory.
    expect(
      meta
        .json<Array<{ id: string; memberNames: Record<string, string> }>>()
        .find((c) => c.id === conv.id)!.memberNames[lead.id],
    ).toBe('Paula');
    expect(JSON.stringify(meta.json())).not.toContain('payload');
    expect((await auditorApi('GET', '/api/chat/conversations')).statusCode).toBe(403);
    expect((await memberDevice.api('GET', '/api/chat/metadata/conversations')).statusCode).toBe(
      403,
    );
  });
});

describe('chats that follow', () => {
  it('an alarm that opens a chat gets one for its recipients and the dispatcher; it is archived at close', async () => {
    const db = h.db.database.db;
    const station = await createUnit(db, tenantId, { name: 'Wache Süd' });
    const dispatcher = await createUser(db, tenantId, {
      role: 'dispatcher',
      displayName: 'Disponent',
    });
    const rita = await person('Rita', { unitIds: [station.id] });
    const dispatch = await device(dispatcher);
    const ritaDevice = await device(rita);
    for (const d of [dispatch, ritaDevice]) await d.client.init();
    const template = await dispatch.api('POST', '/api/alarm-templates', {
      keyword: 'TH1',
      title: 'Person eingeklemmt',
      priority: 'high',
      targets: { unitIds: [station.id], roles: [], userIds: [], qualificationIds: [] },
      opensChat: true,
    });
    expect(template.statusCode, template.body).toBe(201);
    const raised = await dispatch.api('POST', '/api/alarms', {
      templateId: template.json<{ id: string }>().id,
    });
    expect(raised.statusCode, raised.body).toBe(201);
    const alarmId = raised.json<{ alarm: { id: string } }>().alarm.id;
    const alarmChat = async (d: Device) =>
      (await d.api('GET', '/api/chat/conversations'))
        .json<ChatConversation[]>()
        .find((c) => c.alarmId === alarmId);
    await expect.poll(() => alarmChat(ritaDevice), { timeout: 10_000 }).toBeDefined();
    const chat = (await alarmChat(ritaDevice))!;
    expect(chat).toMatchObject({ kind: 'alarm', title: 'TH1 · Person eingeklemmt' });
    expect(chat.members.map((m) => m.userId).sort()).toEqual([dispatcher.id, rita.id].sort());

    await dispatch.client.sync();
    await ritaDevice.client.sync();
    await ritaDevice.client.send(chat.id, text('Zugang über die Rückseite'));
    await dispatch.client.sync();
    expect(texts(dispatch)).toEqual(['Zugang über die Rückseite']);

    const closed = await dispatch.api('POST', `/api/alarms/${alarmId}/close`);
    expect(closed.statusCode).toBe(200);
    await expect
      .poll(async () => (await alarmChat(ritaDevice))?.archived, { timeout: 10_000 })
      .toBe(true);
  });

  it('a unit chat gains members who join the unit and loses those who leave', async () => {
    const db = h.db.database.db;
    const unit = await createUnit(db, tenantId, { name: 'Wache West' });
    const admin = await createUser(db, tenantId, { role: 'admin', displayName: 'Admina' });
    const adminDevice = await device(admin);
    const newcomer = await person('Sven');
    const created = await adminDevice.api('POST', '/api/chat/conversations', {
      kind: 'unit',
      unitId: unit.id,
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<ChatConversation>().id;
    const members = async () =>
      (await conversation(adminDevice, id)).members.map((m) => m.userId).sort();
    expect(await members()).toEqual([admin.id]);

    const joined = await adminDevice.api('PATCH', `/api/users/${newcomer.id}`, {
      unitIds: [unit.id],
    });
    expect(joined.statusCode, joined.body).toBe(200);
    await expect.poll(members, { timeout: 10_000 }).toEqual([admin.id, newcomer.id].sort());
    const left = await adminDevice.api('PATCH', `/api/users/${newcomer.id}`, { unitIds: [] });
    expect(left.statusCode, left.body).toBe(200);
    await expect.poll(members, { timeout: 10_000 }).toEqual([admin.id]);
  });
});
