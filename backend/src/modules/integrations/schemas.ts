import { Type, type Static } from 'typebox';

const IdString = Type.String({ minLength: 1, maxLength: 64 });
const Iso = Type.String({ format: 'date-time' });
const NullableIso = Type.Union([Iso, Type.Null()]);

// ---------------------------------------------------------------- API keys

export const API_KEY_SCOPES = ['alarms:write', 'alarms:read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const ApiKeyIdParams = Type.Object({ apiKeyId: IdString });

export const ApiKeyCreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' }),
    scopes: Type.Array(Type.Enum([...API_KEY_SCOPES]), {
      minItems: 1,
      maxItems: API_KEY_SCOPES.length,
    }),
  },
  { additionalProperties: false },
);
export type ApiKeyCreateBody = Static<typeof ApiKeyCreateBody>;

export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  /** The first characters of the secret, e.g. `trupp_AbC123`. */
  prefix: Type.String(),
  scopes: Type.Array(Type.Enum([...API_KEY_SCOPES])),
  createdAt: Iso,
  lastUsedAt: NullableIso,
  revokedAt: NullableIso,
});
export type ApiKey = Static<typeof ApiKey>;

export const CreatedApiKey = Type.Object({
  ...ApiKey.properties,
  /** Shown this once; only its hash is stored. */
  secret: Type.String(),
});
export type CreatedApiKey = Static<typeof CreatedApiKey>;

// ---------------------------------------------------------------- webhooks

export const WEBHOOK_EVENTS = [
  'alarm.raised',
  'alarm.updated',
  'alarm.closed',
  'alarm.escalated',
  'alarm.responded',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const WebhookIdParams = Type.Object({ webhookId: IdString });

export const WebhookCreateBody = Type.Object(
  {
    /** http:// or https:// only (checked by the service as well). */
    url: Type.String({ minLength: 8, maxLength: 2000, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' }),
    events: Type.Array(Type.Enum([...WEBHOOK_EVENTS]), {
      minItems: 1,
      maxItems: WEBHOOK_EVENTS.length,
    }),
  },
  { additionalProperties: false },
);
export type WebhookCreateBody = Static<typeof WebhookCreateBody>;

export const Webhook = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.Enum([...WEBHOOK_EVENTS])),
  active: Type.Boolean(),
  createdAt: Iso,
  /** Last successful delivery, and the error of the last failed attempt since. */
  lastDeliveredAt: NullableIso,
  lastError: Type.Union([Type.String(), Type.Null()]),
});
export type Webhook = Static<typeof Webhook>;

export const CreatedWebhook = Type.Object({
  ...Webhook.properties,
  /** HMAC-SHA256 key of the `X-Trupp-Signature` header; shown this once. */
  secret: Type.String(),
});
export type CreatedWebhook = Static<typeof CreatedWebhook>;
