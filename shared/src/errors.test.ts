import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, ERROR_CODES } from './errors.ts';

const repo = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, repo), 'utf8');

/** The `errors: { … }` block of a translation file, read as text. */
function translatedCodes(path: string): Set<string> {
  const text = read(path);
  const start = text.indexOf('errors: {');
  expect(start, `${path} has an errors block`).toBeGreaterThan(-1);
  const block = text.slice(start, text.indexOf('\n  },', start));
  return new Set([...block.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!));
}

describe('error catalogue', () => {
  it('uses stable SCREAMING_SNAKE codes with client or server statuses', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^[A-Z]+(_[A-Z0-9]+)+$/);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.status).toBeLessThan(600);
      expect(entry.message.length).toBeGreaterThan(5);
    }
  });

  it('documents every code in docs/ERRORS.md and nothing else', () => {
    const documented = new Set(
      [...read('docs/ERRORS.md').matchAll(/^\| `([A-Z0-9_]+)` \| (\d{3}) \|/gm)].map(
        (m) => `${m[1]} ${m[2]}`,
      ),
    );
    const expected = new Set(ERROR_CODES.map((code) => `${code} ${ERROR_CATALOGUE[code].status}`));
    expect([...expected].filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !expected.has(c))).toEqual([]);
  });

  it('has a German and an English message for every code in the web app', () => {
    for (const file of ['webapp/src/i18n/de.ts', 'webapp/src/i18n/en.ts']) {
      const translated = translatedCodes(file);
      expect(
        ERROR_CODES.filter((code) => !translated.has(code)),
        file,
      ).toEqual([]);
    }
  });
});
