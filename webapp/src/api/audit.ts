/** The audit log and connection records (auditors and admins). */
import { request } from './http.ts';
import type { AuditRecord, AuditVerifyResult, ConnectionRecord, Page } from './types.ts';

export interface AuditFilter {
  from?: string;
  to?: string;
  action?: string;
  actorUserId?: string;
  targetId?: string;
}

export const listAudit = (
  filter: AuditFilter,
  before?: number,
  limit = 50,
): Promise<Page<AuditRecord, number>> =>
  request('GET', '/api/audit', { query: { ...filter, before, limit } });

export const verifyAudit = (): Promise<AuditVerifyResult> => request('GET', '/api/audit/verify');

export interface ConnectionFilter {
  from?: string;
  to?: string;
  userId?: string;
  deviceId?: string;
}

export const listConnections = (
  filter: ConnectionFilter,
  before?: string,
  limit = 50,
): Promise<Page<ConnectionRecord, string>> =>
  request('GET', '/api/connections', { query: { ...filter, before, limit } });
