import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@trupp/shared';
import { chooseLocale } from './index.ts';
import { de } from './de.ts';
import { en } from './en.ts';

describe('language choice', () => {
  it('chooses German for de-DE and English for en-US', () => {
    expect(chooseLocale(null, ['de-DE', 'en-US'])).toBe('de');
    expect(chooseLocale(null, ['en-US', 'de-DE'])).toBe('en');
  });

  it('falls back to English for other languages and keeps a remembered choice', () => {
    expect(chooseLocale(null, ['fr-FR'])).toBe('en');
    expect(chooseLocale(null, [])).toBe('en');
    expect(chooseLocale('de', ['en-US'])).toBe('de');
    expect(chooseLocale('xx', ['de-AT'])).toBe('de');
  });

  it('has a non-empty message for every error code in both languages', () => {
    for (const code of ERROR_CODES) {
      expect(en.errors[code as keyof typeof en.errors], code).toBeTruthy();
      expect(de.errors[code as keyof typeof de.errors], code).toBeTruthy();
    }
  });
});
