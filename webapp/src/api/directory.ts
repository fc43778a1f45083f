/** Units, qualifications and users of the own tenant. */
import type { Role } from '@trupp/shared';
import { request } from './http.ts';
import type { Qualification, Unit, UserDetail, UserSummary } from './types.ts';

const id = (value: string) => encodeURIComponent(value);

export const listUnits = (): Promise<Unit[]> => request('GET', '/api/units');

export const createUnit = (body: {
  name: string;
  kind?: string;
  parentId?: string;
}): Promise<Unit> => request('POST', '/api/units', { body });

export const updateUnit = (
  unitId: string,
  body: { name?: string; kind?: string; parentId?: string | null },
): Promise<Unit> => request('PATCH', `/api/units/${id(unitId)}`, { body });

export const deleteUnit = (unitId: string): Promise<void> =>
  request('DELETE', `/api/units/${id(unitId)}`);

export const listQualifications = (): Promise<Qualification[]> =>
  request('GET', '/api/qualifications');

export const createQualification = (name: string): Promise<Qualification> =>
  request('POST', '/api/qualifications', { body: { name } });

export const renameQualification = (
  qualificationId: string,
  name: string,
): Promise<Qualification> =>
  request('PATCH', `/api/qualifications/${id(qualificationId)}`, { body: { name } });

export const deleteQualification = (qualificationId: string): Promise<void> =>
  request('DELETE', `/api/qualifications/${id(qualificationId)}`);

export interface UserFilter {
  unitId?: string;
  role?: Role | '';
  q?: string;
  includeInactive?: boolean;
}

export const listUsers = (filter: UserFilter = {}): Promise<UserSummary[]> =>
  request('GET', '/api/users', {
    query: {
      unitId: filter.unitId,
      role: filter.role,
      q: filter.q,
      includeInactive: filter.includeInactive ? true : undefined,
    },
  });

export const getUser = (userId: string): Promise<UserDetail> =>
  request('GET', `/api/users/${id(userId)}`);

export interface UserCreateBody {
  email: string;
  displayName: string;
  role: Role;
  unitIds?: string[];
  qualificationIds?: string[];
}

export const createUser = (
  body: UserCreateBody,
): Promise<{ user: UserDetail; inviteUrl: string }> => request('POST', '/api/users', { body });

export interface UserPatchBody {
  displayName?: string;
  role?: Role;
  unitIds?: string[];
  qualificationIds?: string[];
  active?: boolean;
}

export const updateUser = (userId: string, body: UserPatchBody): Promise<UserDetail> =>
  request('PATCH', `/api/users/${id(userId)}`, { body });

export const reinviteUser = (userId: string): Promise<{ inviteUrl: string }> =>
  request('POST', `/api/users/${id(userId)}/invite`);

export const resetUserMfa = (userId: string): Promise<void> =>
  request('POST', `/api/users/${id(userId)}/reset-mfa`);
