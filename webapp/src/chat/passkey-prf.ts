/**
 * The browser half of unlocking the chat with a passkey: a WebAuthn credential made only
 * for this device's chat lock, and its PRF extension, which turns a stored salt into a
 * 32-byte secret that only the authenticator can compute (after fingerprint, face or the
 * device PIN). `AppLock` (app-lock.ts) derives a wrapping key from that secret. Nothing
 * here goes to the server: the secret is the proof, there is no signature to check.
 *
 * A credential of its own rather than a sign-in passkey: sign-in passkeys may have been
 * made without PRF, their ids live on the server, and sign-in must not change. It gets a
 * random user handle, never the account's: an authenticator replaces a discoverable
 * credential with the same site and user handle, and the sign-in passkey must survive.
 */
import { bytes } from './secure-store.ts';

export interface CreatedPrfCredential {
  id: Uint8Array;
  /** Whether the authenticator supports PRF; null when it did not say. */
  enabled: boolean | null;
  /** The PRF output for the salt, when the authenticator gives it at creation already. */
  first: Uint8Array | null;
}

/** What `AppLock` needs from WebAuthn; tests pass a stub. */
export interface PrfCredentials {
  /** Whether this browser has WebAuthn at all. */
  available(): boolean;
  /**
   * Creates a credential with the PRF extension, asking for user verification.
   * @throws DOMException when the user cancels or the authenticator refuses.
   */
  create(salt: Uint8Array): Promise<CreatedPrfCredential>;
  /**
   * The credential's PRF output for `salt`, or null when the authenticator gives none.
   * @throws DOMException when the user cancels or the credential is not on this device.
   */
  evaluate(id: Uint8Array, salt: Uint8Array): Promise<Uint8Array | null>;
  /** Tells the password manager the credential is of no use any more. Never throws. */
  forget(id: Uint8Array): void;
}

const TIMEOUT_MS = 120_000;
/** How the credential shows in the password manager; not translated, it has no locale. */
const CREDENTIAL_NAME = 'Trupp Chat';

const outputOf = (credential: Credential | null) =>
  (credential as PublicKeyCredential | null)?.getClientExtensionResults().prf;

function toBytes(source: BufferSource | undefined): Uint8Array | null {
  if (!source) return null;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  return new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice();
}

const base64Url = (data: Uint8Array): string =>
  btoa(String.fromCharCode(...data))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** The real one, over `navigator.credentials`. */
export const browserPrfCredentials: PrfCredentials = {
  available: () =>
    typeof PublicKeyCredential !== 'undefined' && typeof navigator?.credentials !== 'undefined',

  async create(salt) {
    const credential = await navigator.credentials.create({
      publicKey: {
        rp: { name: 'Trupp' },
        user: {
          id: crypto.getRandomValues(new Uint8Array(16)),
          name: CREDENTIAL_NAME,
          displayName: CREDENTIAL_NAME,
        },
        // Nobody checks a signature, so the challenge only has to be there.
        challenge: crypto.getRandomValues(new Uint8Array(32)),
        pubKeyCredParams: [
          { type: 'public-key', alg: -7 },
          { type: 'public-key', alg: -257 },
        ],
        authenticatorSelection: { userVerification: 'required', residentKey: 'discouraged' },
        attestation: 'none',
        timeout: TIMEOUT_MS,
        extensions: { prf: { eval: { first: bytes(salt) } } },
      },
    });
    if (!credential) throw new DOMException('no credential', 'NotAllowedError');
    const prf = outputOf(credential);
    return {
      id: new Uint8Array((credential as PublicKeyCredential).rawId),
      enabled: prf?.enabled ?? null,
      first: toBytes(prf?.results?.first),
    };
  },

  async evaluate(id, salt) {
    const credential = await navigator.credentials.get({
      publicKey: {
        challenge: crypto.getRandomValues(new Uint8Array(32)),
        allowCredentials: [{ type: 'public-key', id: bytes(id) }],
        userVerification: 'required',
        timeout: TIMEOUT_MS,
        extensions: { prf: { eval: { first: bytes(salt) } } },
      },
    });
    if (!credential) throw new DOMException('no credential', 'NotAllowedError');
    return toBytes(outputOf(credential)?.results?.first);
  },

  forget(id) {
    if (typeof PublicKeyCredential === 'undefined') return;
    // Chromium 132+ only; elsewhere the credential stays until the user deletes it.
    const signal = (
      PublicKeyCredential as unknown as {
        signalUnknownCredential?: (options: {
          rpId: string;
          credentialId: string;
        }) => Promise<void>;
      }
    ).signalUnknownCredential;
    if (typeof signal !== 'function') return;
    try {
      signal
        .call(PublicKeyCredential, { rpId: location.hostname, credentialId: base64Url(id) })
        .catch(() => undefined);
    } catch {
      // Best effort: an unused credential does no harm.
    }
  },
};
