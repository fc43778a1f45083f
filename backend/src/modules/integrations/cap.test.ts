import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { alarmRecipients, alarms, auditLog } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createQualification,
  createTenant,
  createUnit,
  createUser,
} from '../../test/factories.ts';
import { CAP_MAX_BYTES, CAP_NAMESPACE, parseCap } from '../alarms/cap.ts';
import { polygonCentroid } from './cap-mapping.ts';

let h: TestApp;
let tenant: { id: string; slug: string };
let station: { id: string; name: string };
let scba: { id: string; name: string };
let key: string;
let dispatcher: ReturnType<typeof apiAs>;

beforeAll(async () => {
  h = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  const db = h.db.database.db;
  tenant = await createTenant(db);
  station = await createUnit(db, tenant.id, { name: 'Station Nord' });
  scba = await createQualification(db, tenant.id, 'SCBA');
  await createUser(db, tenant.id, { unitIds: [station.id] });
  await createUser(db, tenant.id, { qualificationIds: [scba.id] });
  await createUser(db, tenant.id, { role: 'lead' });
  const admin = await createUser(db, tenant.id, { role: 'admin' });
  const adminApi = apiAs(h.app, (await createDeviceSession(db, admin)).accessToken);
  const created = await adminApi('POST', '/api/api-keys', {
    name: 'ILS',
    scopes: ['alarms:write', 'alarms:read'],
  });
  key = created.json().secret;
  const d = await createUser(db, tenant.id, { role: 'dispatcher' });
  dispatcher = apiAs(h.app, (await createDeviceSession(db, d)).accessToken);
});
afterAll(async () => h?.close());

let serial = 0;
/** A CAP 1.2 alert as a dispatch centre would send it; parts can be replaced. */
function capAlert(
  parts: {
    identifier?: string;
    status?: string;
    msgType?: string;
    references?: string;
    info?: string;
    params?: string;
    area?: string;
  } = {},
): string {
  const identifier = parts.identifier ?? `ILS-NORD-2026-${(serial += 1)}`;
  const params =
    parts.params ??
    `<parameter><valueName>trupp:unit</valueName><value>Station Nord</value></parameter>
     <parameter><valueName>trupp:role</valueName><value>lead</value></parameter>
     <parameter><valueName>trupp:qualification</valueName><value>SCBA</value></parameter>`;
  const area =
    parts.area ??
    `<area><areaDesc>Hauptstraße 5, Musterstadt</areaDesc><circle>48.1372,11.5756 0.5</circle></area>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="${CAP_NAMESPACE}">
  <identifier>${identifier}</identifier>
  <sender>ils-nord@example.org</sender>
  <sent>2026-12-01T14:00:00+01:00</sent>
  <status>${parts.status ?? 'Actual'}</status>
  <msgType>${parts.msgType ?? 'Alert'}</msgType>
  <scope>Restricted</scope>
  <restriction>Einsatzkräfte</restriction>
  ${parts.references ? `<references>${parts.references}</references>` : ''}
  ${
    parts.info ??
    `<info>
    <category>Fire</category>
    <event>B3 Wohnungsbrand</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>Wohnungsbrand, Person im Gebäude</headline>
    <description>Rauch aus Fenster 2. OG &amp; Person am Fenster.</description>
    ${params}
    ${area}
  </info>`
  }
</alert>`;
}

function postCap(xml: string, contentType = 'application/cap+xml', token = key) {
  return h.app.inject({
    method: 'POST',
    url: '/api/v1/alarms/cap',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    payload: xml,
  });
}

async function counts() {
  const [a] = await h.app.db.select({ n: sql<number>`count(*)` }).from(alarms);
  const [r] = await h.app.db.select({ n: sql<number>`count(*)` }).from(alarmRecipients);
  const [l] = await h.app.db.select({ n: sql<number>`count(*)` }).from(auditLog);
  return [Number(a!.n), Number(r!.n), Number(l!.n)];
}

describe('CAP in', () => {
  it('raises an alarm from a CAP 1.2 alert', async () => {
    const res = await postCap(capAlert({ identifier: 'ILS-NORD-RAISE-1' }));
    expect(res.statusCode, res.body).toBe(201);
    const { alarm, totals } = res.json();
    expect(alarm).toMatchObject({
      keyword: 'B3 Wohnungsbrand',
      title: 'Wohnungsbrand, Person im Gebäude',
      text: 'Rauch aus Fenster 2. OG & Person am Fenster.',
      priority: 'critical',
      isTest: false,
      lat: 48.1372,
      lon: 11.5756,
      address: 'Hauptstraße 5, Musterstadt',
      source: 'cap',
      targets: { unitIds: [station.id], roles: ['lead'], qualificationIds: [scba.id], userIds: [] },
    });
    expect(totals.recipients).toBe(3);
    const [row] = await h.app.db.select().from(alarms).where(eq(alarms.id, alarm.id));
    expect(row!.externalId).toBe('ILS-NORD-RAISE-1');
  });

  it('refuses a replayed identifier and writes nothing', async () => {
    const xml = capAlert({ identifier: 'ILS-NORD-REPLAY' });
    expect((await postCap(xml)).statusCode).toBe(201);
    const before = await counts();
    const again = await postCap(xml);
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ code: 'CAP_INVALID' });
    expect(again.json().message).toMatch(/received already/);
    expect(await counts()).toEqual(before);
  });

  it('maps status, severity and urgency, and a polygon to its centroid', async () => {
    const info = (severity: string, urgency: string, area: string) => `<info>
      <category>Rescue</category><event>TH</event><urgency>${urgency}</urgency>
      <severity>${severity}</severity><certainty>Likely</certainty>
      <parameter><valueName>trupp:unit</valueName><value>${station.id}</value></parameter>
      ${area}</info>`;
    const square = `<area><areaDesc>Feld</areaDesc>
      <polygon>48.0,11.0 48.0,11.2 48.2,11.2 48.2,11.0 48.0,11.0</polygon></area>`;
    const exercise = await postCap(
      capAlert({ status: 'Exercise', info: info('Severe', 'Expected', square) }),
    );
    expect(exercise.json().alarm).toMatchObject({ isTest: true, priority: 'high', title: 'TH' });
    expect(exercise.json().alarm.lat).toBeCloseTo(48.1, 9);
    expect(exercise.json().alarm.lon).toBeCloseTo(11.1, 9);
    const test = await postCap(
      capAlert({ status: 'Test', info: info('Moderate', 'Immediate', '') }),
    );
    expect(test.json().alarm).toMatchObject({ isTest: true, priority: 'normal', lat: null });
    expect(
      polygonCentroid([
        [0, 0],
        [0, 4],
        [2, 0],
        [0, 0],
      ]),
    ).toEqual({ lat: 2 / 3, lon: 4 / 3 });
  });

  it('uses a template named by trupp:template', async () => {
    const template = await dispatcher('POST', '/api/alarm-templates', {
      keyword: 'B2',
      title: 'Brand klein',
      priority: 'normal',
      targets: { unitIds: [station.id], roles: [], userIds: [], qualificationIds: [] },
    });
    expect(template.statusCode, template.body).toBe(201);
    const res = await postCap(
      capAlert({
        params: '<parameter><valueName>trupp:template</valueName><value>B2</value></parameter>',
      }),
    );
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().alarm).toMatchObject({ keyword: 'B2', targets: { unitIds: [station.id] } });
  });

  it('updates and cancels the referenced alarm', async () => {
    const raised = (await postCap(capAlert({ identifier: 'ILS-NORD-UPD' }))).json();
    const update = capAlert({
      msgType: 'Update',
      references: 'ils-nord@example.org,ILS-NORD-UPD,2026-12-01T14:00:00+01:00',
      info: `<info><category>Fire</category><event>B3</event><urgency>Immediate</urgency>
        <severity>Severe</severity><certainty>Observed</certainty>
        <headline>Person gerettet</headline><description>Nachlöschen.</description></info>`,
    });
    const updated = await postCap(update);
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json().alarm).toMatchObject({
      id: raised.alarm.id,
      title: 'Person gerettet',
      text: 'Nachlöschen.',
    });
    const cancel = capAlert({
      msgType: 'Cancel',
      references: 'ils-nord@example.org,ILS-NORD-UPD,2026-12-01T14:00:00+01:00',
      info: '',
    });
    const closed = await postCap(cancel);
    expect(closed.statusCode, closed.body).toBe(200);
    expect(closed.json().alarm.closedAt).not.toBeNull();
    const unknown = capAlert({
      msgType: 'Cancel',
      references: 'x@example.org,NOPE,2026-12-01T14:00:00+01:00',
      info: '',
    });
    expect((await postCap(unknown)).json().code).toBe('ALARM_NOT_FOUND');
  });

  it('refuses malformed, target-less, oversized and XXE-laden documents with 4xx, writing nothing', async () => {
    const before = await counts();
    const noTargets = await postCap(capAlert({ params: '' }));
    expect(noTargets.statusCode).toBe(400);
    expect(noTargets.json().message).toMatch(/trupp:unit/);
    const unknownUnit = await postCap(
      capAlert({
        params: '<parameter><valueName>trupp:unit</valueName><value>Mars</value></parameter>',
      }),
    );
    expect(unknownUnit.json()).toMatchObject({ code: 'CAP_INVALID' });
    expect(unknownUnit.json().message).toMatch(/Mars/);

    const malformed = await postCap(
      '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>',
    );
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('CAP_INVALID');

    const xxe = capAlert()
      .replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
      )
      .replace('Einsatzkräfte', '&xxe;');
    const refusedXxe = await postCap(xxe, 'application/xml');
    expect(refusedXxe.statusCode).toBe(400);
    expect(refusedXxe.json().code).toBe('CAP_INVALID');
    expect(refusedXxe.body).not.toContain('root:');

    const huge = capAlert({ info: undefined }).replace(
      '</alert>',
      `<note>${'x'.repeat(CAP_MAX_BYTES)}</note></alert>`,
    );
    const tooLarge = await postCap(huge);
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json().code).toBe('CAP_TOO_LARGE');

    const json = await postCap('{"keyword":"B3"}', 'application/json');
    expect(json.statusCode).toBe(415);
    expect(json.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const draft = await postCap(capAlert({ status: 'Draft' }));
    expect(draft.json().code).toBe('CAP_INVALID');
    expect(await counts()).toEqual(before);
  });
});

describe('CAP out', () => {
  it('exports an alarm that parses back to the same alarm, with every required element', async () => {
    const raised = await postCap(
      capAlert({
        status: 'Exercise',
        params: `<parameter><valueName>trupp:unit</valueName><value>Station Nord</value></parameter>
          <parameter><valueName>trupp:qualification</valueName><value>${scba.id}</value></parameter>`,
      }),
    );
    const alarm = raised.json().alarm;
    const res = await h.app.inject({
      method: 'GET',
      url: `/api/v1/alarms/${alarm.id}/cap`,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/cap\+xml/);
    for (const element of [
      'identifier',
      'sender',
      'sent',
      'status',
      'msgType',
      'scope',
      'info',
      'category',
      'event',
      'urgency',
      'severity',
      'certainty',
      'area',
      'circle',
    ]) {
      expect(res.body).toContain(`<${element}>`);
    }
    const cap = parseCap(res.body);
    expect(cap).toMatchObject({
      sender: `trupp@${tenant.slug}`,
      status: 'Exercise',
      msgType: 'Alert',
      scope: 'Restricted',
    });
    expect(cap.restriction).toBeTruthy();
    expect(cap.sent.getTime()).toBe(Math.floor(Date.parse(alarm.createdAt) / 1000) * 1000);
    const info = cap.infos[0]!;
    expect(info).toMatchObject({ category: ['Fire'], event: alarm.keyword, certainty: 'Observed' });
    expect(info.areas[0]!.circles[0]).toMatchObject({ lat: alarm.lat, lon: alarm.lon });

    // The exported document raises the same alarm again (with a fresh identifier).
    const reimported = await postCap(res.body.replace(/<identifier>[^<]+</, '<identifier>COPY-1<'));
    expect(reimported.statusCode, reimported.body).toBe(201);
    const copy = reimported.json().alarm;
    for (const field of [
      'keyword',
      'title',
      'text',
      'priority',
      'isTest',
      'lat',
      'lon',
      'address',
      'targets',
    ]) {
      expect(copy[field], field).toEqual(alarm[field]);
    }

    // Dispatchers get the same document over the user API.
    const viaUser = await dispatcher('GET', `/api/alarms/${alarm.id}/cap`);
    expect(viaUser.statusCode).toBe(200);
    expect(viaUser.body).toBe(res.body);
  });

  it('uses the alarm id as identifier and Actual for a console alarm without location', async () => {
    const raised = await dispatcher('POST', '/api/alarms', {
      keyword: 'RD',
      title: 'Notfall',
      priority: 'normal',
      targets: { unitIds: [station.id], roles: [], userIds: [], qualificationIds: [] },
    });
    const id = raised.json().alarm.id as string;
    const cap = parseCap((await dispatcher('GET', `/api/alarms/${id}/cap`)).body);
    expect(cap).toMatchObject({ identifier: id, status: 'Actual' });
    expect(cap.infos[0]).toMatchObject({ severity: 'Moderate', areas: [] });
  });
});
