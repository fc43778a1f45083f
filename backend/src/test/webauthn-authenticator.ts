import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

/**
 * A software passkey for tests: one ES256 (P-256) credential that answers registration
 * with 'none' attestation and sign-in with a real signature, speaking the WebAuthn wire
 * format (CBOR, authenticator data, client data JSON) the way a browser and platform
 * authenticator do. The server's real verification code runs against it.
 */

type Cbor = number | string | Uint8Array | Cbor[] | Map<number | string, Cbor>;

/** Minimal CBOR (RFC 8949) encoder: the types WebAuthn attestation objects use. */
export function cborEncode(value: Cbor): Buffer {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error('cbor: only integers are supported');
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cborEncode)]);
  const parts: Buffer[] = [head(5, value.size)];
  for (const [key, item] of value) parts.push(cborEncode(key), cborEncode(item));
  return Buffer.concat(parts);
}

/** Major type and argument (length or value) of a CBOR data item. */
function head(major: number, argument: number): Buffer {
  const type = major << 5;
  if (argument < 24) return Buffer.from([type | argument]);
  if (argument < 0x100) return Buffer.from([type | 24, argument]);
  if (argument < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = type | 25;
    b.writeUInt16BE(argument, 1);
    return b;
  }
  if (argument < 0x100000000) {
    const b = Buffer.alloc(5);
    b[0] = type | 26;
    b.writeUInt32BE(argument, 1);
    return b;
  }
  throw new Error('cbor: argument too large');
}

const FLAG_USER_PRESENT = 0x01;
const FLAG_USER_VERIFIED = 0x04;
const FLAG_ATTESTED_CREDENTIAL = 0x40;

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export interface AnswerOptions {
  /** Whether the authenticator verified the user (PIN, biometrics). Default true. */
  userVerified?: boolean;
  /** Origin the "browser" reports; defaults to the one given to the constructor. */
  origin?: string;
  /** Sign-in only: flip a bit in the signature, as a forged answer would have. */
  corruptSignature?: boolean;
  /** Sign-in only: reuse this counter value instead of counting up (replay, clone). */
  counter?: number;
}

export class SoftwareAuthenticator {
  readonly credentialId: Buffer = randomBytes(32);
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  #counter = 0;
  /** The user handle the RP gave at registration, returned on sign-in (discoverable credential). */
  #userHandle: Buffer | null = null;

  constructor(readonly origin: string) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = pair.privateKey;
    this.#publicKey = pair.publicKey;
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  get counter(): number {
    return this.#counter;
  }

  /** navigator.credentials.create() → RegistrationResponseJSON */
  register(
    options: PublicKeyCredentialCreationOptionsJSON,
    answer: AnswerOptions = {},
  ): RegistrationResponseJSON {
    if (!options.pubKeyCredParams.some((p) => p.alg === -7)) {
      throw new Error('authenticator: the RP does not accept ES256');
    }
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    this.#userHandle = Buffer.from(options.user.id, 'base64url');
    const clientDataJSON = this.#clientData('webauthn.create', options.challenge, answer);
    const authData = Buffer.concat([
      this.#authDataHead(rpId, FLAG_ATTESTED_CREDENTIAL, answer, 0),
      Buffer.alloc(16), // AAGUID: all zero for a 'none' attestation
      u16(this.credentialId.length),
      this.credentialId,
      this.#coseKey(),
    ]);
    const attestationObject = cborEncode(
      new Map<string, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get() → AuthenticationResponseJSON */
  authenticate(
    options: PublicKeyCredentialRequestOptionsJSON,
    answer: AnswerOptions = {},
  ): AuthenticationResponseJSON {
    const allowed = options.allowCredentials;
    if (allowed && allowed.length > 0 && !allowed.some((c) => c.id === this.id)) {
      throw new Error('authenticator: none of the allowed credentials is this one');
    }
    const rpId = options.rpId ?? new URL(this.origin).hostname;
    const counter = answer.counter ?? (this.#counter += 1);
    const clientDataJSON = this.#clientData('webauthn.get', options.challenge, answer);
    const authData = this.#authDataHead(rpId, 0, answer, counter);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(clientDataJSON)]),
      this.#privateKey,
    );
    if (answer.corruptSignature) signature[signature.length - 1]! ^= 0x01;
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(this.#userHandle ? { userHandle: b64url(this.#userHandle) } : {}),
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }

  #clientData(type: string, challenge: string, answer: AnswerOptions): Buffer {
    return Buffer.from(
      JSON.stringify({ type, challenge, origin: answer.origin ?? this.origin, crossOrigin: false }),
    );
  }

  /** rpIdHash (32) | flags (1) | signCount (4, big-endian) */
  #authDataHead(rpId: string, extraFlags: number, answer: AnswerOptions, counter: number): Buffer {
    const flags =
      FLAG_USER_PRESENT | (answer.userVerified === false ? 0 : FLAG_USER_VERIFIED) | extraFlags;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter, 0);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count]);
  }

  /** The public key as a COSE_Key: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y. */
  #coseKey(): Buffer {
    const jwk = this.#publicKey.export({ format: 'jwk' });
    return cborEncode(
      new Map<number, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
  }
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value, 0);
  return b;
}
