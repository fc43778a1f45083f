import { exactBuffer, fromBase64, toBase64 } from './bytes.ts';

/**
 * Attachments are encrypted on the device before upload with a fresh AES-256-GCM key and
 * IV per blob; key and IV travel inside the MLS-encrypted message (`ChatAttachmentRef`),
 * so the server stores bytes it cannot open. A fresh key per blob makes IV reuse harmless.
 */
export interface EncryptedBlob {
  ciphertext: Uint8Array;
  /** base64 raw 32-byte key. */
  key: string;
  /** base64 12-byte IV. */
  iv: string;
}

export async function encryptBlob(bytes: Uint8Array): Promise<EncryptedBlob> {
  const subtle = globalThis.crypto.subtle;
  const key = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt']);
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await subtle.encrypt({ name: 'AES-GCM', iv }, key, exactBuffer(bytes));
  const rawKey = new Uint8Array(await subtle.exportKey('raw', key));
  return { ciphertext: new Uint8Array(ciphertext), key: toBase64(rawKey), iv: toBase64(iv) };
}

/**
 * @throws {DOMException} (OperationError) when the ciphertext, key or IV was changed —
 *   GCM authenticates, so tampering never yields wrong plaintext.
 */
export async function decryptBlob(
  ciphertext: Uint8Array,
  key: string,
  iv: string,
): Promise<Uint8Array> {
  const subtle = globalThis.crypto.subtle;
  const cryptoKey = await subtle.importKey('raw', exactBuffer(fromBase64(key)), 'AES-GCM', false, [
    'decrypt',
  ]);
  const plaintext = await subtle.decrypt(
    { name: 'AES-GCM', iv: exactBuffer(fromBase64(iv)) },
    cryptoKey,
    exactBuffer(ciphertext),
  );
  return new Uint8Array(plaintext);
}
