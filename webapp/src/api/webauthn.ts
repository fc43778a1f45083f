/**
 * The browser half of passkeys, wrapped so stores can be tested without an authenticator.
 * The options JSON comes from the API untouched.
 */
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';

export const passkeysSupported = (): boolean => browserSupportsWebAuthn();

export const getPasskeyAssertion = (options: unknown) =>
  startAuthentication({ optionsJSON: options as PublicKeyCredentialRequestOptionsJSON });

export const createPasskeyCredential = (options: unknown) =>
  startRegistration({ optionsJSON: options as PublicKeyCredentialCreationOptionsJSON });
