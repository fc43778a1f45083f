/** API keys for dispatch systems and outgoing webhooks of the own tenant (admins). */
import { request } from './http.ts';

const id = (value: string) => encodeURIComponent(value);

export const API_KEY_SCOPES = ['alarms:write', 'alarms:read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const WEBHOOK_EVENTS = [
  'alarm.raised',
  'alarm.updated',
  'alarm.closed',
  'alarm.escalated',
  'alarm.responded',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** The answer to creating a key: the only time the secret is shown. */
export interface CreatedApiKey extends ApiKey {
  secret: string;
}

export interface Webhook {
  id: string;
  url: string;
  events: WebhookEvent[];
  active: boolean;
  createdAt: string;
  lastDeliveredAt: string | null;
  lastError: string | null;
}

export interface CreatedWebhook extends Webhook {
  secret: string;
}

export const listApiKeys = (): Promise<ApiKey[]> => request('GET', '/api/api-keys');

export const createApiKey = (body: {
  name: string;
  scopes: ApiKeyScope[];
}): Promise<CreatedApiKey> => request('POST', '/api/api-keys', { body });

export const revokeApiKey = (apiKeyId: string): Promise<void> =>
  request('DELETE', `/api/api-keys/${id(apiKeyId)}`);

export const listWebhooks = (): Promise<Webhook[]> => request('GET', '/api/webhooks');

export const createWebhook = (body: {
  url: string;
  events: WebhookEvent[];
}): Promise<CreatedWebhook> => request('POST', '/api/webhooks', { body });

export const deleteWebhook = (webhookId: string): Promise<void> =>
  request('DELETE', `/api/webhooks/${id(webhookId)}`);
