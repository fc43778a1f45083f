/**
 * The admin's integrations: API keys for dispatch systems and outgoing webhooks. A secret
 * the server shows once (new key, new webhook) is kept here until the admin dismisses it.
 */
import { defineStore } from 'pinia';
import { readonly, ref } from 'vue';
import * as integrationsApi from '../api/integrations.ts';
import type { ApiKey, ApiKeyScope, Webhook, WebhookEvent } from '../api/integrations.ts';

export interface ShownSecret {
  kind: 'apiKey' | 'webhook';
  id: string;
  secret: string;
}

export const useIntegrationsStore = defineStore('integrations', () => {
  const apiKeys = ref<ApiKey[]>([]);
  const webhooks = ref<Webhook[]>([]);
  const shownSecret = ref<ShownSecret | null>(null);

  async function load(): Promise<void> {
    const [keys, hooks] = await Promise.all([
      integrationsApi.listApiKeys(),
      integrationsApi.listWebhooks(),
    ]);
    apiKeys.value = keys;
    webhooks.value = hooks;
  }

  async function createApiKey(name: string, scopes: ApiKeyScope[]): Promise<void> {
    const { secret, ...key } = await integrationsApi.createApiKey({ name, scopes });
    apiKeys.value = [key, ...apiKeys.value];
    shownSecret.value = { kind: 'apiKey', id: key.id, secret };
  }

  async function revokeApiKey(apiKeyId: string): Promise<void> {
    await integrationsApi.revokeApiKey(apiKeyId);
    const now = new Date().toISOString();
    apiKeys.value = apiKeys.value.map((k) =>
      k.id === apiKeyId ? { ...k, revokedAt: k.revokedAt ?? now } : k,
    );
    if (shownSecret.value?.id === apiKeyId) shownSecret.value = null;
  }

  async function createWebhook(url: string, events: WebhookEvent[]): Promise<void> {
    const { secret, ...hook } = await integrationsApi.createWebhook({ url, events });
    webhooks.value = [...webhooks.value, hook];
    shownSecret.value = { kind: 'webhook', id: hook.id, secret };
  }

  async function deleteWebhook(webhookId: string): Promise<void> {
    await integrationsApi.deleteWebhook(webhookId);
    webhooks.value = webhooks.value.filter((w) => w.id !== webhookId);
    if (shownSecret.value?.id === webhookId) shownSecret.value = null;
  }

  function dismissSecret(): void {
    shownSecret.value = null;
  }

  return {
    apiKeys: readonly(apiKeys),
    webhooks: readonly(webhooks),
    shownSecret: readonly(shownSecret),
    load,
    createApiKey,
    revokeApiKey,
    createWebhook,
    deleteWebhook,
    dismissSecret,
  };
});
