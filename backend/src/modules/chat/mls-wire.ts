/**
 * The only thing the delivery service checks inside MLS bytes: the MLSMessage header
 * (RFC 9420 §6) — protocol version mls10 and the wire format. Everything after it is
 * opaque to the server.
 */
export const WIRE = {
  publicMessage: 1,
  privateMessage: 2,
  welcome: 3,
  keyPackage: 5,
} as const;

/** Whether `bytes` start like an MLSMessage (mls10) of one of `wireFormats`. */
export function isMlsMessage(bytes: Buffer, wireFormats: readonly number[]): boolean {
  return (
    bytes.length > 8 && bytes.readUInt16BE(0) === 1 && wireFormats.includes(bytes.readUInt16BE(2))
  );
}
