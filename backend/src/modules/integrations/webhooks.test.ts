import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, eq } from 'drizzle-orm';
import { webhookDeliveries } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
} from '../../test/factories.ts';
import { BACKOFF_BASE_MS, deliverDueWebhooks, webhookSignature } from './webhooks.ts';

let h: TestApp;
let tenantId: string;
let admin: ReturnType<typeof apiAs>;
let dispatcher: ReturnType<typeof apiAs>;
let station: { id: string };
let server: Server;
let baseUrl: string;

type Received = { path: string; headers: IncomingHttpHeaders; body: string };
const received: Received[] = [];
/** Status the receiver answers with, per path (default 200). */
const answers = new Map<string, number[]>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.statusCode = answers.get(req.url ?? '')?.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  h = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  const db = h.db.database.db;
  tenantId = (await createTenant(db)).id;
  station = await createUnit(db, tenantId);
  await createUser(db, tenantId, { unitIds: [station.id] });
  const adminUser = await createUser(db, tenantId, { role: 'admin' });
  admin = apiAs(h.app, (await createDeviceSession(db, adminUser)).accessToken);
  const d = await createUser(db, tenantId, { role: 'dispatcher' });
  dispatcher = apiAs(h.app, (await createDeviceSession(db, d)).accessToken);
});
afterAll(async () => {
  await h?.close();
  await new Promise((resolve) => server.close(resolve));
});

async function addWebhook(path: string, events = ['alarm.raised', 'alarm.closed']) {
  const res = await admin('POST', '/api/webhooks', { url: `${baseUrl}${path}`, events });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; secret: string; url: string };
}

async function raise(): Promise<string> {
  const res = await dispatcher('POST', '/api/alarms', {
    keyword: 'B1',
    title: 'Kleinbrand',
    priority: 'normal',
    targets: { unitIds: [station.id], roles: [], userIds: [], qualificationIds: [] },
  });
  expect(res.statusCode).toBe(201);
  return res.json().alarm.id;
}

/** The deliveries of a webhook, once the outbox write after the event has happened. */
async function deliveriesOf(webhookId: string, count: number) {
  return vi.waitFor(async () => {
    const rows = await h.app.db
      .select()
      .from(webhookDeliveries)
      .where(
        and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.webhookId, webhookId)),
      );
    expect(rows).toHaveLength(count);
    return rows;
  });
}

describe('webhooks', () => {
  it('deliver alarm events signed with HMAC-SHA256 over "<timestamp>.<body>"', async () => {
    const hook = await addWebhook('/signed');
    expect(hook.secret).toMatch(/^whsec_/);
    const alarmId = await raise();
    await deliveriesOf(hook.id, 1);
    expect(await deliverDueWebhooks(h.app)).toBe(1);
    const got = received.filter((r) => r.path === '/signed');
    expect(got).toHaveLength(1);
    const { headers, body } = got[0]!;
    expect(headers['x-trupp-event']).toBe('alarm.raised');
    expect(headers['x-trupp-delivery']).toBeTruthy();
    const timestamp = headers['x-trupp-timestamp'] as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(30);
    expect(headers['x-trupp-signature']).toBe(webhookSignature(hook.secret, timestamp, body));
    expect(headers['x-trupp-signature']).not.toBe(webhookSignature('wrong', timestamp, body));
    expect(JSON.parse(body)).toMatchObject({
      id: headers['x-trupp-delivery'],
      event: 'alarm.raised',
      alarm: { id: alarmId, keyword: 'B1', title: 'Kleinbrand', priority: 'normal', isTest: false },
      totals: { recipients: 1, coming: 0, noAnswer: 1 },
    });
    const [row] = await deliveriesOf(hook.id, 1);
    expect(row!.deliveredAt).not.toBeNull();
    // Delivered once: the next run sends nothing.
    expect(await deliverDueWebhooks(h.app, new Date(Date.now() + 3_600_000))).toBe(0);
    await admin('DELETE', `/api/webhooks/${hook.id}`);
  });

  it('retry a failed delivery later with backoff and record the error', async () => {
    const hook = await addWebhook('/flaky');
    answers.set('/flaky', [500]);
    await raise();
    await deliveriesOf(hook.id, 1);
    const now = new Date();
    expect(await deliverDueWebhooks(h.app, now)).toBe(1);
    let [row] = await deliveriesOf(hook.id, 1);
    expect(row).toMatchObject({ attempts: 1, deliveredAt: null, lastError: 'HTTP 500' });
    expect(row!.nextAttemptAt!.getTime()).toBe(now.getTime() + BACKOFF_BASE_MS);
    const listed = (await admin('GET', '/api/webhooks')).json() as Array<{
      id: string;
      lastError: string | null;
    }>;
    expect(listed.find((w) => w.id === hook.id)!.lastError).toBe('HTTP 500');
    // Not due yet, then due.
    expect(await deliverDueWebhooks(h.app, new Date(now.getTime() + 1000))).toBe(0);
    expect(await deliverDueWebhooks(h.app, new Date(now.getTime() + BACKOFF_BASE_MS))).toBe(1);
    [row] = await deliveriesOf(hook.id, 1);
    expect(row).toMatchObject({ attempts: 2, lastError: null });
    expect(row!.deliveredAt).not.toBeNull();
    expect(received.filter((r) => r.path === '/flaky')).toHaveLength(2);
    await admin('DELETE', `/api/webhooks/${hook.id}`);
  });

  it('send nothing to a deleted webhook, and only subscribed events', async () => {
    const gone = await addWebhook('/gone');
    const closing = await addWebhook('/closing', ['alarm.closed']);
    const alarmId = await raise();
    await deliveriesOf(gone.id, 1);
    expect((await admin('DELETE', `/api/webhooks/${gone.id}`)).statusCode).toBe(204);
    await dispatcher('POST', `/api/alarms/${alarmId}/close`);
    await deliveriesOf(closing.id, 1);
    await deliverDueWebhooks(h.app, new Date(Date.now() + 1000));
    expect(received.filter((r) => r.path === '/gone')).toEqual([]);
    const closed = received.filter((r) => r.path === '/closing');
    expect(closed.map((r) => r.headers['x-trupp-event'])).toEqual(['alarm.closed']);
    expect(JSON.parse(closed[0]!.body).alarm.closedAt).not.toBeNull();
    const again = await admin('DELETE', `/api/webhooks/${gone.id}`);
    expect(again.json().code).toBe('WEBHOOK_NOT_FOUND');
    await admin('DELETE', `/api/webhooks/${closing.id}`);
  });

  it('accept only http and https URLs, and only from admins', async () => {
    for (const url of ['ftp://example.org/x', 'javascript:alert(1)', 'file:///etc/passwd']) {
      const res = await admin('POST', '/api/webhooks', { url, events: ['alarm.raised'] });
      expect(res.statusCode, url).toBe(400);
    }
    const res = await dispatcher('POST', '/api/webhooks', {
      url: 'https://example.org/hook',
      events: ['alarm.raised'],
    });
    expect(res.statusCode).toBe(403);
    const listed = (await admin('GET', '/api/webhooks')).json() as Array<Record<string, unknown>>;
    for (const w of listed) expect(w).not.toHaveProperty('secret');
  });
});
