/**
 * The admin's view of the tenant: units, qualifications, users, devices, settings, and
 * (for superadmins) all tenants. Every change updates the local lists from the server's
 * answer, so lists stay right without a reload.
 */
import { defineStore } from 'pinia';
import { readonly, ref } from 'vue';
import * as directoryApi from '../api/directory.ts';
import type { UserCreateBody, UserFilter, UserPatchBody } from '../api/directory.ts';
import * as tenantsApi from '../api/tenants.ts';
import type { TenantPatch } from '../api/tenants.ts';
import type {
  AdminDeviceInfo,
  Qualification,
  Tenant,
  TenantWithCount,
  Unit,
  UserDetail,
  UserSummary,
} from '../api/types.ts';

export const useDirectoryStore = defineStore('directory', () => {
  const units = ref<Unit[]>([]);
  const qualifications = ref<Qualification[]>([]);
  const users = ref<UserSummary[]>([]);
  const userFilter = ref<UserFilter>({});
  const devices = ref<AdminDeviceInfo[]>([]);
  const tenant = ref<Tenant | null>(null);
  const tenants = ref<TenantWithCount[]>([]);

  // Units
  async function loadUnits(): Promise<void> {
    units.value = await directoryApi.listUnits();
  }
  async function createUnit(name: string, parentId: string | null, kind?: string): Promise<void> {
    const unit = await directoryApi.createUnit({
      name,
      ...(kind ? { kind } : {}),
      ...(parentId ? { parentId } : {}),
    });
    units.value = [...units.value, unit];
  }
  async function updateUnit(
    unitId: string,
    patch: { name?: string; kind?: string; parentId?: string | null },
  ): Promise<void> {
    const unit = await directoryApi.updateUnit(unitId, patch);
    units.value = units.value.map((existing) => (existing.id === unit.id ? unit : existing));
  }
  async function deleteUnit(unitId: string): Promise<void> {
    await directoryApi.deleteUnit(unitId);
    units.value = units.value.filter((unit) => unit.id !== unitId);
  }

  // Qualifications
  async function loadQualifications(): Promise<void> {
    qualifications.value = await directoryApi.listQualifications();
  }
  async function createQualification(name: string): Promise<void> {
    qualifications.value = [...qualifications.value, await directoryApi.createQualification(name)];
  }
  async function renameQualification(qualificationId: string, name: string): Promise<void> {
    const updated = await directoryApi.renameQualification(qualificationId, name);
    qualifications.value = qualifications.value.map((q) => (q.id === updated.id ? updated : q));
  }
  async function deleteQualification(qualificationId: string): Promise<void> {
    await directoryApi.deleteQualification(qualificationId);
    qualifications.value = qualifications.value.filter((q) => q.id !== qualificationId);
  }

  // Users
  async function loadUsers(filter: UserFilter = userFilter.value): Promise<void> {
    userFilter.value = { ...filter };
    users.value = await directoryApi.listUsers(filter);
  }
  function getUser(userId: string): Promise<UserDetail> {
    return directoryApi.getUser(userId);
  }
  function summaryOf(user: UserDetail): UserSummary {
    const { id, displayName, role, active, unitIds, qualificationIds } = user;
    return { id, displayName, role, active, unitIds, qualificationIds };
  }
  function putUser(user: UserDetail): void {
    const summary = summaryOf(user);
    const exists = users.value.some((existing) => existing.id === user.id);
    users.value = exists
      ? users.value.map((existing) => (existing.id === user.id ? summary : existing))
      : [...users.value, summary].sort((a, b) => a.displayName.localeCompare(b.displayName));
  }
  /** Creates a user; resolves to the one-time invitation link to hand over. */
  async function createUser(body: UserCreateBody): Promise<string> {
    const { user, inviteUrl } = await directoryApi.createUser(body);
    putUser(user);
    return inviteUrl;
  }
  async function updateUser(userId: string, patch: UserPatchBody): Promise<UserDetail> {
    const user = await directoryApi.updateUser(userId, patch);
    putUser(user);
    return user;
  }
  async function reinviteUser(userId: string): Promise<string> {
    return (await directoryApi.reinviteUser(userId)).inviteUrl;
  }
  function resetUserMfa(userId: string): Promise<void> {
    return directoryApi.resetUserMfa(userId);
  }

  // Devices
  async function loadDevices(): Promise<void> {
    devices.value = await tenantsApi.listTenantDevices();
  }
  /** Remote wipe of any device of the tenant; the list is reloaded to show the new state. */
  async function revokeDevice(deviceId: string): Promise<void> {
    await tenantsApi.revokeTenantDevice(deviceId);
    await loadDevices();
  }

  // Tenant settings and tenants
  async function loadTenant(): Promise<void> {
    tenant.value = await tenantsApi.getTenant();
  }
  async function updateTenant(patch: TenantPatch): Promise<void> {
    tenant.value = await tenantsApi.updateTenant(patch);
  }
  async function loadTenants(): Promise<void> {
    tenants.value = await tenantsApi.listTenants();
  }
  async function createTenant(body: {
    name: string;
    slug: string;
    adminEmail: string;
    adminDisplayName: string;
  }): Promise<string> {
    const { inviteUrl } = await tenantsApi.createTenant(body);
    await loadTenants();
    return inviteUrl;
  }

  return {
    units: readonly(units),
    qualifications: readonly(qualifications),
    users: readonly(users),
    userFilter: readonly(userFilter),
    devices: readonly(devices),
    tenant: readonly(tenant),
    tenants: readonly(tenants),
    loadUnits,
    createUnit,
    updateUnit,
    deleteUnit,
    loadQualifications,
    createQualification,
    renameQualification,
    deleteQualification,
    loadUsers,
    getUser,
    createUser,
    updateUser,
    reinviteUser,
    resetUserMfa,
    loadDevices,
    revokeDevice,
    loadTenant,
    updateTenant,
    loadTenants,
    createTenant,
  };
});
