import {
  createECDH,
  createHmac,
  createDecipheriv,
  randomBytes,
  randomUUID,
  verify,
} from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { pushSubscriptions } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import { testChatClient } from '../../test/chat-client.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
} from '../../test/factories.ts';

/**
 * Web Push against a stand-in push service that speaks the real protocol: it checks the
 * VAPID signature (RFC 8292) and decrypts the aes128gcm body (RFC 8291) with the
 * device's private key — implemented here independently of the sending library.
 */
let h: TestApp;
let pushService: Server;
let pushUrl: string;
const received: Array<{ path: string; headers: IncomingHttpHeaders; body: Buffer }> = [];

beforeAll(async () => {
  h = await createTestApp({ PUSH_SUBJECT: 'mailto:it@musterstadt.example' });
  pushService = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.statusCode = req.url?.startsWith('/gone') ? 410 : 201;
      res.end();
    });
  });
  await new Promise<void>((resolve) => pushService.listen(0, '127.0.0.1', resolve));
  pushUrl = `http://127.0.0.1:${(pushService.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => pushService.close(resolve));
  await h?.close();
});

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 decryption of a single-record aes128gcm message. */
function decryptPush(body: Buffer, uaKeys: ReturnType<typeof createECDH>, authSecret: Buffer) {
  const salt = body.subarray(0, 16);
  const idLength = body[20]!;
  const asPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  const ecdhSecret = uaKeys.computeSecret(asPublic);
  const keyInfo = Buffer.concat([
    Buffer.from('WebPush: info\0'),
    uaKeys.getPublicKey(),
    asPublic,
    Buffer.from([1]),
  ]);
  const ikm = hmac(hmac(authSecret, ecdhSecret), keyInfo);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - 16)),
    decipher.final(),
  ]);
  let end = padded.length - 1;
  while (end > 0 && padded[end] === 0) end -= 1;
  expect(padded[end]).toBe(2); // last-record delimiter
  return padded.subarray(0, end).toString('utf8');
}

/** Checks the `vapid t=…, k=…` header: ES256 signature, audience, expiry, subject. */
function verifyVapid(header: string, audience: string) {
  const t = /t=([^,\s]+)/.exec(header)![1]!;
  const k = Buffer.from(/k=([^,\s]+)/.exec(header)![1]!, 'base64url');
  const [head, claims, signature] = t.split('.') as [string, string, string];
  const key = {
    kty: 'EC',
    crv: 'P-256',
    x: k.subarray(1, 33).toString('base64url'),
    y: k.subarray(33, 65).toString('base64url'),
  };
  const ok = verify(
    'sha256',
    Buffer.from(`${head}.${claims}`),
    { key, format: 'jwk', dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  const payload = JSON.parse(Buffer.from(claims, 'base64url').toString()) as {
    aud: string;
    exp: number;
    sub: string;
  };
  return { ok: ok && payload.aud === audience, payload, publicKey: k.toString('base64url') };
}

describe('web push', () => {
  it('wakes subscribed devices of alerted members with an opaque id only', async () => {
    const db = h.db.database.db;
    const tenant = await createTenant(db);
    const unit = await createUnit(db, tenant.id);
    const member = await createUser(db, tenant.id, { unitIds: [unit.id] });
    const device = await createDeviceSession(db, member);
    const dispatcher = await createUser(db, tenant.id, { role: 'dispatcher' });
    const dispatch = apiAs(h.app, (await createDeviceSession(db, dispatcher)).accessToken);
    const memberApi = apiAs(h.app, device.accessToken);

    const { publicKey } = (await memberApi('GET', '/api/push/key')).json<{ publicKey: string }>();
    expect(Buffer.from(publicKey, 'base64url')).toHaveLength(65);

    const uaKeys = createECDH('prime256v1');
    uaKeys.generateKeys();
    const authSecret = randomBytes(16);
    const subscribe = await memberApi('PUT', '/api/me/push', {
      endpoint: `${pushUrl}/push/device-1`,
      keys: { p256dh: uaKeys.getPublicKey('base64url'), auth: authSecret.toString('base64url') },
    });
    expect(subscribe.statusCode).toBe(204);

    const raised = await dispatch('POST', '/api/alarms', {
      keyword: 'B3 Wohnungsbrand Hauptstraße',
      title: 'Geheime Adresse 5',
      targets: { unitIds: [unit.id] },
    });
    const alarmId = raised.json<{ alarm: { id: string } }>().alarm.id;
    await expect.poll(() => received.length).toBe(1);
    const push = received[0]!;
    expect(push.path).toBe('/push/device-1');
    expect(push.headers['content-encoding']).toBe('aes128gcm');
    expect(push.headers.urgency).toBe('high');
    expect(Number(push.headers.ttl)).toBeGreaterThan(0);
    const vapid = verifyVapid(String(push.headers.authorization), pushUrl);
    expect(vapid.ok).toBe(true);
    expect(vapid.publicKey).toBe(publicKey);
    expect(vapid.payload.aud).toBe(pushUrl);
    expect(vapid.payload.sub).toBe('mailto:it@musterstadt.example');
    expect(vapid.payload.exp * 1000).toBeGreaterThan(Date.now());
    // The push service sees ciphertext; the device reads an opaque id and nothing else.
    expect(push.body.includes(Buffer.from('Hauptstraße'))).toBe(false);
    const plain = decryptPush(push.body, uaKeys, authSecret);
    expect(JSON.parse(plain)).toEqual({ type: 'alarm', id: alarmId });
    // Content comes after authentication.
    const content = await memberApi('GET', `/api/me/alarms/${alarmId}`);
    expect(content.json()).toMatchObject({ keyword: 'B3 Wohnungsbrand Hauptstraße' });
  });

  it('wakes a chat member with the conversation id only, once per burst of messages', async () => {
    const db = h.db.database.db;
    const tenant = await createTenant(db);
    const [writer, reader] = [await createUser(db, tenant.id), await createUser(db, tenant.id)];
    const [w, r] = [await createDeviceSession(db, writer), await createDeviceSession(db, reader)];
    const readerApi = apiAs(h.app, r.accessToken);
    const uaKeys = createECDH('prime256v1');
    uaKeys.generateKeys();
    const authSecret = randomBytes(16);
    const subscribe = await readerApi('PUT', '/api/me/push', {
      endpoint: `${pushUrl}/push/chat-reader`,
      keys: { p256dh: uaKeys.getPublicKey('base64url'), auth: authSecret.toString('base64url') },
    });
    expect(subscribe.statusCode).toBe(204);
    const writerClient = testChatClient(h.app, {
      userId: writer.id,
      deviceId: w.deviceId,
      token: w.accessToken,
    });
    const readerClient = testChatClient(h.app, {
      userId: reader.id,
      deviceId: r.deviceId,
      token: r.accessToken,
    });
    await writerClient.init();
    await readerClient.init();
    const created = await apiAs(h.app, w.accessToken)('POST', '/api/chat/conversations', {
      kind: 'direct',
      userIds: [reader.id],
    });
    const conversationId = created.json<{ id: string }>().id;
    await writerClient.sync();
    for (const text of ['Treffpunkt Wache', 'Bringt Wathosen mit', 'Ankunft 19:40']) {
      await writerClient.send(conversationId, { v: 1, type: 'text', id: randomUUID(), text });
    }
    const forReader = () => received.filter((p) => p.path === '/push/chat-reader');
    await expect.poll(() => forReader().length, { timeout: 15_000 }).toBe(1);
    const push = forReader()[0]!;
    expect(push.headers.urgency).toBe('normal');
    expect(JSON.parse(decryptPush(push.body, uaKeys, authSecret))).toEqual({
      type: 'chat',
      id: conversationId,
    });
    // Three messages, one wake-up: no more pushes follow for this burst.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(forReader()).toHaveLength(1);
  });

  it('drops a subscription the push service says is gone', async () => {
    const db = h.db.database.db;
    const tenant = await createTenant(db);
    const member = await createUser(db, tenant.id);
    const device = await createDeviceSession(db, member);
    const dispatcher = await createUser(db, tenant.id, { role: 'dispatcher' });
    const dispatch = apiAs(h.app, (await createDeviceSession(db, dispatcher)).accessToken);
    const keys = createECDH('prime256v1');
    keys.generateKeys();
    await apiAs(h.app, device.accessToken)('PUT', '/api/me/push', {
      endpoint: `${pushUrl}/gone/1`,
      keys: { p256dh: keys.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') },
    });
    const before = received.length;
    await dispatch('POST', '/api/alarms', { keyword: 'X', targets: { userIds: [member.id] } });
    await expect.poll(() => received.length).toBe(before + 1);
    await expect
      .poll(
        async () =>
          (
            await db
              .select()
              .from(pushSubscriptions)
              .where(eq(pushSubscriptions.deviceId, device.deviceId))
          ).length,
      )
      .toBe(0);
  });

  it('refuses endpoints that are not https (except loopback) and malformed keys', async () => {
    const db = h.db.database.db;
    const tenant = await createTenant(db);
    const member = await createUser(db, tenant.id);
    const api = apiAs(h.app, (await createDeviceSession(db, member)).accessToken);
    const keys = { p256dh: 'BAAAAAAAAAAAAAAAAAAAAAAA', auth: 'AAAAAAAAAAAAAAAAAAAAAA' };
    for (const body of [
      { endpoint: 'http://push.example.com/x', keys },
      { endpoint: 'ftp://push.example.com/x', keys },
      { endpoint: 'https://push.example.com/x', keys: { p256dh: 'not base64!', auth: 'x' } },
      { endpoint: 'https://push.example.com/x' },
    ]) {
      const res = await api('PUT', '/api/me/push', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});
