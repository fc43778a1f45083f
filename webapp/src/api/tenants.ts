/** The own tenant's settings, the tenant's devices, and (superadmin) all tenants. */
import { request } from './http.ts';
import type { AdminDeviceInfo, Tenant, TenantWithCount } from './types.ts';

export type TenantPatch = Partial<Omit<Tenant, 'id' | 'slug'>>;

export const getTenant = (): Promise<Tenant> => request('GET', '/api/tenant');

export const updateTenant = (patch: TenantPatch): Promise<Tenant> =>
  request('PATCH', '/api/tenant', { body: patch });

export const listTenants = (): Promise<TenantWithCount[]> => request('GET', '/api/tenants');

export const createTenant = (body: {
  name: string;
  slug: string;
  adminEmail: string;
  adminDisplayName: string;
}): Promise<{ tenant: Tenant; inviteUrl: string }> => request('POST', '/api/tenants', { body });

export const listTenantDevices = (userId?: string): Promise<AdminDeviceInfo[]> =>
  request('GET', '/api/devices', { query: { userId } });

export const revokeTenantDevice = (deviceId: string): Promise<void> =>
  request('DELETE', `/api/devices/${encodeURIComponent(deviceId)}`);
