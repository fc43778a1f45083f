import { describe, expect, it } from 'vitest';
import { decryptBlob, encryptBlob } from './blob-crypto.ts';
import { fromBase64, toBase64, utf8 } from './bytes.ts';

describe('blob crypto', () => {
  it('round-trips with a fresh 256-bit key and 96-bit IV per blob', async () => {
    const bytes = Uint8Array.from({ length: 200_000 }, (_, i) => i % 251);
    const first = await encryptBlob(bytes);
    const second = await encryptBlob(bytes);
    expect(fromBase64(first.key)).toHaveLength(32);
    expect(fromBase64(first.iv)).toHaveLength(12);
    expect(first.key).not.toBe(second.key);
    // GCM appends a 16-byte tag; the body differs from the plaintext.
    expect(first.ciphertext).toHaveLength(bytes.length + 16);
    expect(first.ciphertext.subarray(0, 64)).not.toEqual(bytes.subarray(0, 64));
    expect(await decryptBlob(first.ciphertext, first.key, first.iv)).toEqual(bytes);
  });

  it('refuses a changed ciphertext, key or IV', async () => {
    const { ciphertext, key, iv } = await encryptBlob(utf8('secret photo'));
    const flipped = ciphertext.slice();
    flipped[3] = (flipped[3] ?? 0) ^ 1;
    await expect(decryptBlob(flipped, key, iv)).rejects.toThrow();
    const otherKey = (await encryptBlob(utf8('x'))).key;
    await expect(decryptBlob(ciphertext, otherKey, iv)).rejects.toThrow();
    const otherIv = toBase64(new Uint8Array(12));
    await expect(decryptBlob(ciphertext, key, otherIv)).rejects.toThrow();
  });
});
