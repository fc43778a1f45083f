import { CHAT_CIPHERSUITE, chatIdentity } from '@trupp/shared';
import {
  decodeGroupState,
  decodeMlsMessage,
  defaultCapabilities,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetime,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  encodeGroupState,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type AuthenticationService,
  type CiphersuiteImpl,
  type ClientConfig,
  type ClientState,
  type Credential,
  type KeyPackage,
  type MLSMessage,
  type PrivateKeyPackage,
  type RatchetTree,
} from 'ts-mls';
import { fromUtf8, sha256Hex, utf8 } from './bytes.ts';

/** Everything ts-mls-specific the client needs, in one place. */

let suite: Promise<CiphersuiteImpl> | undefined;

/** The crypto implementation of CHAT_CIPHERSUITE (WebCrypto X25519, AES-GCM, Ed25519). */
export function cipherSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(CHAT_CIPHERSUITE));
  return suite;
}

export interface DeviceRef {
  userId: string;
  deviceId: string;
}

/** Reads `trupp:<userId>:<deviceId>`; ids never contain ':' (UUIDs). */
export function parseIdentity(credential: Credential): DeviceRef | undefined {
  if (credential.credentialType !== 'basic') return undefined;
  let text: string;
  try {
    text = fromUtf8(credential.identity);
  } catch {
    return undefined;
  }
  const parts = text.split(':');
  if (parts.length !== 3 || parts[0] !== 'trupp' || !parts[1] || !parts[2]) return undefined;
  return { userId: parts[1], deviceId: parts[2] };
}

/**
 * Accepts a leaf only with a Trupp identity, and, when the server's device list told us
 * the device's signature key, only with that key (`known` is filled from conversations).
 */
export function truppClientConfig(
  known: (deviceId: string) => Uint8Array | undefined,
): ClientConfig {
  const authService: AuthenticationService = {
    async validateCredential(credential, signaturePublicKey) {
      const device = parseIdentity(credential);
      if (device === undefined) return false;
      const expected = known(device.deviceId);
      return expected === undefined || equalBytes(expected, signaturePublicKey);
    },
  };
  return {
    keyRetentionConfig: defaultKeyRetentionConfig,
    lifetimeConfig: defaultLifetimeConfig,
    keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
    paddingConfig: defaultPaddingConfig,
    authService,
  };
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export interface SignatureKeyPair {
  signKey: Uint8Array;
  publicKey: Uint8Array;
}

export interface GeneratedKeyPackage {
  /** sha256 hex of `bytes`: how the server and the welcome name it. */
  ref: string;
  /** The encoded `mls_key_package` MLSMessage as uploaded. */
  bytes: Uint8Array;
  keyPackage: KeyPackage;
  privatePackage: PrivateKeyPackage;
}

export async function generateDeviceKeyPackage(
  device: DeviceRef,
  signature: SignatureKeyPair,
): Promise<GeneratedKeyPackage> {
  const cs = await cipherSuite();
  const credential: Credential = {
    credentialType: 'basic',
    identity: utf8(chatIdentity(device.userId, device.deviceId)),
  };
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
    credential,
    defaultCapabilities(),
    defaultLifetime,
    [],
    signature,
    cs,
  );
  const bytes = encodeMlsMessage({
    version: 'mls10',
    wireformat: 'mls_key_package',
    keyPackage: publicPackage,
  });
  return { ref: await sha256Hex(bytes), bytes, keyPackage: publicPackage, privatePackage };
}

/** @throws {Error} when the bytes are not an MLSMessage. */
export function decodeMessage(bytes: Uint8Array): MLSMessage {
  const decoded = decodeMlsMessage(bytes, 0);
  if (decoded === undefined) throw new Error('Not an MLS message.');
  return decoded[0];
}

/** @throws {Error} when the bytes are not an MLS key package for CHAT_CIPHERSUITE. */
export function decodeKeyPackage(bytes: Uint8Array): KeyPackage {
  const message = decodeMessage(bytes);
  if (message.wireformat !== 'mls_key_package') throw new Error('Not an MLS key package.');
  if (message.keyPackage.cipherSuite !== CHAT_CIPHERSUITE) throw new Error('Wrong ciphersuite.');
  return message.keyPackage;
}

export { encodeGroupState };

/** @throws {Error} when the bytes are not an encoded group state. */
export function decodeClientState(bytes: Uint8Array, config: ClientConfig): ClientState {
  const decoded = decodeGroupState(bytes, 0);
  if (decoded === undefined) throw new Error('Stored MLS group state is corrupt.');
  return { ...decoded[0], clientConfig: config };
}

export interface Leaf extends DeviceRef {
  leafIndex: number;
  signaturePublicKey: Uint8Array;
}

/** The group's members with their leaf indices; leaves sit at the even tree nodes. */
export function leaves(tree: RatchetTree): Leaf[] {
  const result: Leaf[] = [];
  tree.forEach((node, nodeIndex) => {
    if (node?.nodeType !== 'leaf') return;
    const device = parseIdentity(node.leaf.credential);
    if (device === undefined) return;
    result.push({
      ...device,
      leafIndex: nodeIndex / 2,
      signaturePublicKey: node.leaf.signaturePublicKey,
    });
  });
  return result;
}

export const epochOf = (state: ClientState): number => Number(state.groupContext.epoch);

export const isActive = (state: ClientState | undefined): state is ClientState =>
  state !== undefined && state.groupActiveState.kind === 'active';

export { decodeRatchetTree, encodeRatchetTree } from 'ts-mls/ratchetTree.js';
