import { describe, expect, it } from 'vitest';
import { toBase64 } from './bytes.ts';
import { chatSafetyNumber } from './safety-number.ts';

describe('safety number', () => {
  const key = toBase64(Uint8Array.from({ length: 32 }, (_, i) => i));

  it('is six groups of five digits and stable for one key', async () => {
    const number = await chatSafetyNumber(key);
    expect(number).toMatch(/^\d{5}( \d{5}){5}$/);
    expect(await chatSafetyNumber(key)).toBe(number);
  });

  it('follows the documented derivation and differs between keys', async () => {
    const hash = new Uint8Array(
      await globalThis.crypto.subtle.digest(
        'SHA-256',
        Uint8Array.from({ length: 32 }, (_, i) => i),
      ),
    );
    const first =
      (((((hash[0] ?? 0) * 256 + (hash[1] ?? 0)) * 256 + (hash[2] ?? 0)) * 256 + (hash[3] ?? 0)) *
        256 +
        (hash[4] ?? 0)) %
      100000;
    expect((await chatSafetyNumber(key)).slice(0, 5)).toBe(String(first).padStart(5, '0'));
    const other = toBase64(Uint8Array.from({ length: 32 }, (_, i) => 31 - i));
    expect(await chatSafetyNumber(other)).not.toBe(await chatSafetyNumber(key));
  });
});
