import { fromBase64, sha256 } from './bytes.ts';

/**
 * The safety number users compare to verify a device: 30 decimal digits in six groups of
 * five, derived from the device's Ed25519 signature public key (the key that signs its
 * MLS leaf, so a matching number means the leaf belongs to that device).
 *
 * Derivation: h = SHA-256(raw 32-byte public key). For i = 0..5, the five bytes
 * h[5i .. 5i+4] are read as a big-endian 40-bit integer and reduced modulo 100000,
 * zero-padded to five digits (the same chunking Signal uses). Bytes 30 and 31 are unused.
 *
 * @throws {DOMException} when the key is not base64.
 */
export async function chatSafetyNumber(signaturePublicKeyBase64: string): Promise<string> {
  const hash = await sha256(fromBase64(signaturePublicKeyBase64));
  const groups: string[] = [];
  for (let i = 0; i < 6; i++) {
    let chunk = 0;
    // 40 bits stay exact in a double (< 2^53).
    for (let j = 0; j < 5; j++) chunk = chunk * 256 + (hash[i * 5 + j] ?? 0);
    groups.push(String(chunk % 100000).padStart(5, '0'));
  }
  return groups.join(' ');
}
