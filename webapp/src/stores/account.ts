/** The own account outside security: privacy information, data export, one-time links, language. */
import { defineStore } from 'pinia';
import { readonly, ref } from 'vue';
import * as linksApi from '../api/links.ts';
import type { LinkAcceptBody } from '../api/links.ts';
import * as meApi from '../api/me.ts';
import * as privacyApi from '../api/privacy.ts';
import type { LinkInfo, PrivacyInfo } from '../api/types.ts';
import { saveFile } from '../composables/download.ts';

export const useAccountStore = defineStore('account', () => {
  const privacy = ref<PrivacyInfo | null>(null);
  const link = ref<LinkInfo | null>(null);

  async function loadPrivacy(): Promise<void> {
    privacy.value = await privacyApi.getPrivacy();
  }

  /** Downloads everything stored about me as a JSON file. */
  async function downloadExport(): Promise<void> {
    const { blob, filename } = await meApi.exportMyData();
    saveFile(blob, filename);
  }

  async function loadLink(token: string): Promise<void> {
    link.value = null;
    link.value = await linksApi.getLink(token);
  }

  function acceptLink(token: string, body: LinkAcceptBody): Promise<void> {
    return linksApi.acceptLink(token, body);
  }

  /** Remembers the language on the account too (best effort; the browser keeps it anyway). */
  async function saveLocale(locale: 'de' | 'en'): Promise<void> {
    await meApi.updateMe({ locale });
  }

  return {
    privacy: readonly(privacy),
    link: readonly(link),
    loadPrivacy,
    downloadExport,
    loadLink,
    acceptLink,
    saveLocale,
  };
});
