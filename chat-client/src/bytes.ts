/**
 * Byte helpers that run the same in browsers and Node: no Buffer, only Uint8Array,
 * TextEncoder and WebCrypto.
 */

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export const utf8 = (text: string): Uint8Array => utf8Encoder.encode(text);

/** @throws {TypeError} when the bytes are not valid UTF-8. */
export const fromUtf8 = (bytes: Uint8Array): string => utf8Decoder.decode(bytes);

/** Standard base64 (with padding), as every binary value travels to the server. */
export function toBase64(bytes: Uint8Array): string {
  // Chunks keep String.fromCharCode below the engines' argument limit.
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** @throws {DOMException} when the text is not base64. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export const toHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * A copy backed by a plain ArrayBuffer: WebCrypto's typings (and some engines) refuse
 * views over a SharedArrayBuffer or a larger pool.
 */
export function exactBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', exactBuffer(bytes)));
}

export const sha256Hex = async (bytes: Uint8Array): Promise<string> => toHex(await sha256(bytes));

export const randomId = (): string => globalThis.crypto.randomUUID();

/**
 * JSON with byte arrays and bigints, for the records ts-mls has no encoder for (private
 * key packages, the signature key pair). Tags: `{ $u8: base64 }`, `{ $big: decimal }`.
 */
export function encodeTagged(value: unknown): Uint8Array {
  return utf8(
    JSON.stringify(value, (_key, v: unknown) => {
      if (v instanceof Uint8Array) return { $u8: toBase64(v) };
      if (typeof v === 'bigint') return { $big: v.toString() };
      return v;
    }),
  );
}

/** @throws {SyntaxError} when the bytes are not tagged JSON. */
export function decodeTagged<T>(bytes: Uint8Array): T {
  return JSON.parse(fromUtf8(bytes), (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const tagged = v as { $u8?: unknown; $big?: unknown };
      if (typeof tagged.$u8 === 'string') return fromBase64(tagged.$u8);
      if (typeof tagged.$big === 'string') return BigInt(tagged.$big);
    }
    return v;
  }) as T;
}
