/**
 * The signed-in user's own security: devices (remote wipe), TOTP and recovery codes,
 * passkeys, password.
 */
import { defineStore } from 'pinia';
import { readonly, ref } from 'vue';
import * as meApi from '../api/me.ts';
import type { DeviceInfo, Passkey, TotpEnrolment } from '../api/types.ts';
import { createPasskeyCredential } from '../api/webauthn.ts';
import { useSessionStore } from './session.ts';

export const useSecurityStore = defineStore('security', () => {
  const devices = ref<DeviceInfo[]>([]);
  const passkeys = ref<Passkey[]>([]);
  const enrolment = ref<TotpEnrolment | null>(null);
  /** Recovery codes just issued; shown once, then forgotten. */
  const recoveryCodes = ref<string[] | null>(null);

  async function loadDevices(): Promise<void> {
    devices.value = await meApi.listMyDevices();
  }

  /** Signs out one of my other devices; it erases its data when it hears of it. */
  async function revokeDevice(deviceId: string): Promise<void> {
    await meApi.revokeMyDevice(deviceId);
    devices.value = devices.value.filter((device) => device.id !== deviceId);
  }

  /** Starts TOTP enrolment: a new secret and QR code, not active until confirmed. */
  async function startEnrolment(): Promise<void> {
    recoveryCodes.value = null;
    enrolment.value = await meApi.enrolTotp();
  }

  /**
   * Confirms the enrolment with a code from the app; keeps the recovery codes to show once.
   * @throws ApiError AUTH_MFA_INVALID for a wrong code.
   */
  async function confirmEnrolment(code: string): Promise<void> {
    const result = await meApi.confirmTotp(code.replace(/\s+/g, ''));
    recoveryCodes.value = result.recoveryCodes;
    enrolment.value = null;
    useSessionStore().markEnrolled();
  }

  async function disableTotp(code: string): Promise<void> {
    await meApi.disableTotp(code.replace(/\s+/g, ''));
    await useSessionStore().refreshMe();
  }

  async function regenerateRecoveryCodes(code: string): Promise<void> {
    recoveryCodes.value = (
      await meApi.regenerateRecoveryCodes(code.replace(/\s+/g, ''))
    ).recoveryCodes;
  }

  function forgetRecoveryCodes(): void {
    recoveryCodes.value = null;
  }

  async function loadPasskeys(): Promise<void> {
    passkeys.value = await meApi.listPasskeys();
  }

  /** Registers a passkey of this browser/authenticator under `name`. */
  async function addPasskey(name: string): Promise<void> {
    const { challengeId, options } = await meApi.passkeyRegistrationOptions();
    const credential = await createPasskeyCredential(options);
    const passkey = await meApi.addPasskey(challengeId, credential, name);
    passkeys.value = [...passkeys.value, passkey];
    await useSessionStore().refreshMe();
  }

  async function removePasskey(passkeyId: string): Promise<void> {
    await meApi.removePasskey(passkeyId);
    passkeys.value = passkeys.value.filter((passkey) => passkey.id !== passkeyId);
    await useSessionStore().refreshMe();
  }

  function changePassword(currentPassword: string, newPassword: string): Promise<void> {
    return meApi.changePassword(currentPassword, newPassword);
  }

  return {
    devices: readonly(devices),
    passkeys: readonly(passkeys),
    enrolment: readonly(enrolment),
    recoveryCodes: readonly(recoveryCodes),
    loadDevices,
    revokeDevice,
    startEnrolment,
    confirmEnrolment,
    disableTotp,
    regenerateRecoveryCodes,
    forgetRecoveryCodes,
    loadPasskeys,
    addPasskey,
    removePasskey,
    changePassword,
  };
});
