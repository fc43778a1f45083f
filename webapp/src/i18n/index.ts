/**
 * German for browsers whose language starts with "de", English otherwise; a choice made
 * in the app is remembered in localStorage and wins over the browser.
 */
import { createI18n } from 'vue-i18n';
import { de } from './de.ts';
import { en } from './en.ts';

export const LOCALES = ['de', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export const LOCALE_STORAGE_KEY = 'trupp.locale';

const isLocale = (value: unknown): value is Locale => value === 'de' || value === 'en';

/** The language to start with: a remembered choice, else the browser's languages. */
export function chooseLocale(stored: string | null, browserLanguages: readonly string[]): Locale {
  if (isLocale(stored)) return stored;
  const first = browserLanguages.find((language) => language) ?? '';
  return first.toLowerCase().startsWith('de') ? 'de' : 'en';
}

function storedLocale(): string | null {
  try {
    return localStorage.getItem(LOCALE_STORAGE_KEY);
  } catch {
    return null;
  }
}

function browserLanguages(): string[] {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? [...navigator.languages] : [navigator.language];
}

export function createAppI18n(locale: Locale = chooseLocale(storedLocale(), browserLanguages())) {
  return createI18n({
    legacy: false,
    locale,
    fallbackLocale: 'en',
    messages: { de, en },
  });
}

export const i18n = createAppI18n();

/** True when the user picked a language in the app (so the account's locale does not override it). */
export function hasChosenLocale(): boolean {
  return isLocale(storedLocale());
}

/** Switches the language; `remember` stores the choice for the next visit. */
export function setLocale(locale: Locale, remember: boolean): void {
  i18n.global.locale.value = locale;
  document.documentElement.lang = locale;
  if (remember) {
    try {
      localStorage.setItem(LOCALE_STORAGE_KEY, locale);
    } catch {
      // Storage disabled: the choice lasts for this visit.
    }
  }
}

export { isLocale };
