import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Role } from '@trupp/shared';
import type { Db } from '../db/client.ts';
import * as t from '../db/schema.ts';
import { sha256Hex } from '../lib/tokens.ts';
import type { ApiRoute } from '../plugins/access.ts';

/**
 * Tools for tests that walk every registered route: a tenant full of data inserted
 * directly, bearer tokens minted without the sign-in routes, and request values
 * generated from each route's JSON schema (valid samples and invalid variants).
 */

type Json = Record<string, unknown>;

export interface SeededTenant {
  tenantId: string;
  /** Every id and unique string of this tenant's data, to look for in other tenants' responses. */
  secrets: string[];
  ids: {
    unitId: string;
    childUnitId: string;
    qualificationId: string;
    userId: string;
    adminId: string;
    auditorId: string;
    deviceId: string;
    passkeyId: string;
    linkToken: string;
    templateId: string;
    alarmId: string;
    geofenceId: string;
    overlayId: string;
    channelId: string;
    recordingId: string;
    emergencyId: string;
  };
  /** A fresh access token for the user, on a new device (so sign-out routes cannot starve the walk). */
  token(userId?: string): Promise<string>;
  /** An API key of the tenant with every scope, for the 'apikey:…' routes. */
  apiKey: string;
}

/**
 * The Authorization header a route expects: the tenant's API key on 'apikey:…' routes,
 * else a fresh access token of the user.
 */
export async function authorizationFor(
  route: Pick<ApiRoute, 'access'>,
  tenant: SeededTenant,
  userId?: string,
): Promise<string> {
  return `Bearer ${route.access.startsWith('apikey:') ? tenant.apiKey : await tenant.token(userId)}`;
}

/** Inserts a tenant with units, qualifications, users of every role, devices, a passkey, audit and connection rows. */
export async function seedTenant(db: Db, label: string): Promise<SeededTenant> {
  const now = new Date();
  const tag = `${label}-${randomBytes(3).toString('hex')}`;
  const tenantId = randomUUID();
  await db.insert(t.tenants).values({
    id: tenantId,
    name: `Tenant ${tag}`,
    slug: `tenant-${tag}`.toLowerCase(),
    createdAt: now,
    updatedAt: now,
  });
  const unitId = randomUUID();
  const childUnitId = randomUUID();
  await db.insert(t.units).values([
    {
      id: unitId,
      tenantId,
      parentId: null,
      name: `Station ${tag}`,
      createdAt: now,
      updatedAt: now,
    },
    {
      id: childUnitId,
      tenantId,
      parentId: unitId,
      name: `Squad ${tag}`,
      createdAt: now,
      updatedAt: now,
    },
  ]);
  const qualificationId = randomUUID();
  await db
    .insert(t.qualifications)
    .values({ id: qualificationId, tenantId, name: `SCBA ${tag}`, createdAt: now, updatedAt: now });

  const userIds: Partial<Record<Role, string>> = {};
  for (const role of ['admin', 'dispatcher', 'lead', 'member', 'auditor'] as const) {
    const id = randomUUID();
    userIds[role] = id;
    await db.insert(t.users).values({
      id,
      tenantId,
      email: `${role}.${tag}@walk.example`.toLowerCase(),
      displayName: `${role} ${tag}`,
      role,
      // Second factor marked as enrolled so no route is hidden behind the enrolment gate.
      totpSecret: 'JBSWY3DPEHPK3PXP',
      totpEnabledAt: now,
      createdAt: now,
      updatedAt: now,
    });
  }
  const memberId = userIds.member!;
  await db.insert(t.userUnits).values({ tenantId, userId: memberId, unitId: childUnitId });
  await db.insert(t.userQualifications).values({ tenantId, userId: memberId, qualificationId });

  const mintDevice = async (userId: string): Promise<{ deviceId: string; token: string }> => {
    const token = randomBytes(32).toString('base64url');
    const deviceId = randomUUID();
    await db.insert(t.devices).values({
      id: deviceId,
      tenantId,
      userId,
      name: `Device ${tag}`,
      accessHash: sha256Hex(token),
      accessExpiresAt: new Date(Date.now() + 3_600_000),
      refreshHash: sha256Hex(`${token}.refresh`),
      refreshExpiresAt: new Date(Date.now() + 86_400_000),
      lastSeenAt: now,
      createdAt: now,
    });
    return { deviceId, token };
  };
  const memberDevice = await mintDevice(memberId);

  const passkeyId = `pk-${tag}`;
  await db.insert(t.webauthnCredentials).values({
    id: passkeyId,
    tenantId,
    userId: memberId,
    name: `Key ${tag}`,
    publicKey: 'AAAA',
    transports: ['usb'],
    createdAt: now,
  });
  const linkToken = randomBytes(24).toString('base64url');
  await db.insert(t.oneTimeLinks).values({
    id: randomUUID(),
    tenantId,
    userId: memberId,
    purpose: 'invite',
    tokenHash: sha256Hex(linkToken),
    expiresAt: new Date(Date.now() + 86_400_000),
    createdAt: now,
  });
  await db.insert(t.connections).values({
    tenantId,
    userId: memberId,
    deviceId: memberDevice.deviceId,
    ip: '10.9.8.7',
    userAgent: `Agent ${tag}`,
    connectedAt: now,
  });

  const templateId = randomUUID();
  const targets = { unitIds: [unitId], roles: [], userIds: [], qualificationIds: [] };
  const requirements = { minMembers: 1, qualifications: [] };
  await db.insert(t.alarmTemplates).values({
    id: templateId,
    tenantId,
    keyword: `Keyword ${tag}`,
    title: `Title ${tag}`,
    text: '',
    priority: 'high',
    targets,
    requirements,
    createdAt: now,
    updatedAt: now,
  });
  const alarmId = randomUUID();
  await db.insert(t.alarms).values({
    id: alarmId,
    tenantId,
    templateId,
    keyword: `Keyword ${tag}`,
    title: `Title ${tag}`,
    text: `Text ${tag}`,
    priority: 'high',
    sound: 'siren',
    targets,
    requirements,
    source: 'console',
    createdAt: now,
    updatedAt: now,
    version: 1,
  });
  await db.insert(t.alarmRecipients).values({ alarmId, userId: memberId, tenantId, sentAt: now });

  const apiKey = `trupp_${randomBytes(32).toString('base64url')}`;
  await db.insert(t.apiKeys).values({
    id: randomUUID(),
    tenantId,
    name: `Key ${tag}`,
    prefix: apiKey.slice(0, 12),
    secretHash: sha256Hex(apiKey),
    scopes: ['alarms:write', 'alarms:read'],
    createdAt: now,
  });

  const geofenceId = randomUUID();
  await db.insert(t.geofences).values({
    id: geofenceId,
    tenantId,
    name: `Station area ${tag}`,
    kind: 'station',
    geometry: { kind: 'circle', lat: 51.16, lon: 10.45, radiusM: 200 },
    statusText: `At station ${tag}`,
    createdAt: now,
    updatedAt: now,
  });
  await db
    .insert(t.geofencePresence)
    .values({ geofenceId, userId: memberId, tenantId, inside: true, since: now });
  const overlayId = randomUUID();
  await db.insert(t.mapOverlays).values({
    id: overlayId,
    tenantId,
    name: `Hydrants ${tag}`,
    featureCount: 1,
    sizeBytes: 100,
    data: {
      type: 'FeatureCollection',
      features: [
        {
          type: 'Feature',
          properties: { name: `Hydrant ${tag}` },
          geometry: { type: 'Point', coordinates: [10.45, 51.16] },
        },
      ],
    },
    createdAt: now,
    updatedAt: now,
  });

  // Push-to-talk: a channel of the member's unit, a recording row (no audio file: the
  // download answers 404) and an emergency call with a position.
  const channelId = randomUUID();
  await db.insert(t.pttChannels).values({
    id: channelId,
    tenantId,
    name: `Channel ${tag}`,
    members: { unitIds: [unitId], roles: [], userIds: [] },
    createdAt: now,
    updatedAt: now,
  });
  const recordingId = randomUUID();
  await db.insert(t.pttRecordings).values({
    id: recordingId,
    tenantId,
    channelId,
    talkerUserId: memberId,
    startedAt: now,
    durationMs: 1000,
    bytes: 100,
    storagePath: `${tenantId}/${channelId}/${recordingId}.opus`,
    createdAt: now,
  });
  const emergencyId = randomUUID();
  await db.insert(t.pttEmergencies).values({
    id: emergencyId,
    tenantId,
    channelId,
    userId: memberId,
    lat: 51.16,
    lon: 10.45,
    accuracyM: 10,
    positionAt: now,
    raisedAt: now,
  });

  const [tenantRow] = await db.select().from(t.tenants).where(eq(t.tenants.id, tenantId));
  return {
    tenantId,
    secrets: [
      tenantId,
      tag,
      unitId,
      childUnitId,
      qualificationId,
      ...Object.values(userIds),
      memberDevice.deviceId,
      passkeyId,
      tenantRow!.slug,
      templateId,
      alarmId,
      geofenceId,
      overlayId,
      channelId,
      recordingId,
      emergencyId,
    ],
    ids: {
      unitId,
      childUnitId,
      qualificationId,
      userId: memberId,
      adminId: userIds.admin!,
      auditorId: userIds.auditor!,
      deviceId: memberDevice.deviceId,
      passkeyId,
      linkToken,
      templateId,
      alarmId,
      geofenceId,
      overlayId,
      channelId,
      recordingId,
      emergencyId,
    },
    async token(userId = userIds.admin!) {
      return (await mintDevice(userId)).token;
    },
    apiKey,
  };
}

/** Which of a tenant's ids a parameter or body property name refers to. */
export function idForName(name: string, ids: SeededTenant['ids'], tenantId: string): string | null {
  const n = name.replace(/Ids$/, 'Id');
  if (/^(unitId|parentId)$/.test(n)) return ids.childUnitId;
  if (n === 'qualificationId') return ids.qualificationId;
  if (n === 'userId' || n === 'actorUserId') return ids.userId;
  if (n === 'deviceId') return ids.deviceId;
  if (n === 'passkeyId') return ids.passkeyId;
  if (n === 'templateId') return ids.templateId;
  if (n === 'alarmId') return ids.alarmId;
  if (n === 'geofenceId') return ids.geofenceId;
  if (n === 'overlayId') return ids.overlayId;
  if (n === 'channelId') return ids.channelId;
  if (n === 'recordingId') return ids.recordingId;
  if (n === 'emergencyId') return ids.emergencyId;
  if (n === 'tenantId') return tenantId;
  if (n === 'token') return ids.linkToken;
  if (n === 'targetId') return ids.userId;
  if (/Id$/.test(n)) return randomUUID();
  return null;
}

/** Replaces `:param` placeholders in a route url. */
export function fillUrl(url: string, value: (param: string) => string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, (_, param: string) => encodeURIComponent(value(param)));
}

type Schema = Json & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
};

const STRING_CANDIDATES = [
  'Walk sample',
  'walk-sample',
  'walk',
  '123456',
  'Europe/Berlin',
  'de',
  'abcdefghij',
];

/**
 * A value that satisfies `schema`, with id-like properties filled by `idFor(name)`.
 * Good enough for the schemas our routes use (objects, strings with formats/patterns,
 * numbers, booleans, arrays, enums/unions).
 */
export function sampleFromSchema(
  schema: Schema | undefined,
  idFor: (name: string) => string | null,
  name = '',
): unknown {
  if (!schema) return undefined;
  if ('const' in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    const nonNull = union.find((s) => s.type !== 'null') ?? union[0];
    return sampleFromSchema(nonNull, idFor, name);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Json = {};
      for (const [key, sub] of Object.entries(schema.properties ?? {})) {
        out[key] = sampleFromSchema(sub, idFor, key);
      }
      return out;
    }
    case 'array': {
      const item = sampleFromSchema(schema.items, idFor, name);
      return item === undefined ? [] : [item];
    }
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : 1;
      const max = typeof schema.maximum === 'number' ? schema.maximum : min + 10;
      return Math.min(Math.max(min, 1), max);
    }
    case 'boolean':
      return true;
    case 'string':
      return sampleString(schema, idFor, name);
    default:
      return undefined;
  }
}

function sampleString(
  schema: Schema,
  idFor: (name: string) => string | null,
  name: string,
): string {
  const id = idFor(name);
  if (id) return id;
  const format = schema.format as string | undefined;
  if (format === 'email' || /email/i.test(name)) {
    return `walk-${randomBytes(4).toString('hex')}@walk.example`;
  }
  if (format === 'date-time') return new Date().toISOString();
  if (format === 'uuid') return randomUUID();
  if (format === 'uri') return 'https://example.org/';
  if (/password/i.test(name)) return 'walk-password-123';
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : 1000;
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern) : null;
  for (const candidate of STRING_CANDIDATES) {
    if (
      candidate.length >= min &&
      candidate.length <= max &&
      (!pattern || pattern.test(candidate))
    ) {
      return candidate;
    }
  }
  return 'x'.repeat(Math.max(min, 1));
}

export interface InvalidVariant {
  label: string;
  body: unknown;
}

/**
 * Bodies that must be refused: wrong top-level types, each required property missing,
 * each property with a wrong type, each bounded string one character too long, and a
 * huge string. Derived from a valid sample so that only one thing is wrong at a time.
 */
export function invalidBodies(schema: Schema, valid: Json): InvalidVariant[] {
  const variants: InvalidVariant[] = [
    { label: 'array body', body: [] },
    { label: 'number body', body: 42 },
    { label: 'string body', body: 'x' },
    { label: 'null body', body: null },
  ];
  for (const key of schema.required ?? []) {
    const body = { ...valid };
    delete body[key];
    variants.push({ label: `missing ${key}`, body });
  }
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const type = Array.isArray(sub.type) ? sub.type[0] : sub.type;
    const wrong =
      type === 'string' || sub.anyOf || sub.enum
        ? { nested: true }
        : type === 'array'
          ? 'not-an-array'
          : type === 'object'
            ? 'not-an-object'
            : 'not-a-number';
    variants.push({ label: `wrong type ${key}`, body: { ...valid, [key]: wrong } });
    if (type === 'string' && typeof sub.format === 'string') {
      variants.push({
        label: `bad ${sub.format} ${key}`,
        body: { ...valid, [key]: 'not-a-value' },
      });
    }
    if (type === 'string') {
      const max = typeof sub.maxLength === 'number' ? sub.maxLength : null;
      if (max !== null) {
        variants.push({ label: `too long ${key}`, body: { ...valid, [key]: 'x'.repeat(max + 1) } });
      } else {
        variants.push({ label: `huge ${key}`, body: { ...valid, [key]: 'x'.repeat(300_000) } });
      }
    }
  }
  return variants;
}

/** Routes that need params, with their names. */
export function paramNames(route: ApiRoute): string[] {
  return [...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

export async function bodyOf(response: { body: string }): Promise<string> {
  return response.body;
}

export type { FastifyInstance };
