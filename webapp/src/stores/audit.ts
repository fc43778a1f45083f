/** The audit log (with chain verification) and connection records, paged newest first. */
import { defineStore } from 'pinia';
import { readonly, ref } from 'vue';
import * as auditApi from '../api/audit.ts';
import type { AuditFilter, ConnectionFilter } from '../api/audit.ts';
import type { AuditRecord, AuditVerifyResult, ConnectionRecord } from '../api/types.ts';

export const useAuditStore = defineStore('audit', () => {
  const records = ref<AuditRecord[]>([]);
  const recordsNext = ref<number | null>(null);
  const auditFilter = ref<AuditFilter>({});
  const verification = ref<AuditVerifyResult | null>(null);
  const connections = ref<ConnectionRecord[]>([]);
  const connectionsNext = ref<string | null>(null);
  const connectionFilter = ref<ConnectionFilter>({});

  /** First page for `filter` (replaces the list). */
  async function searchAudit(filter: AuditFilter): Promise<void> {
    auditFilter.value = { ...filter };
    const page = await auditApi.listAudit(filter);
    records.value = page.items;
    recordsNext.value = page.nextBefore;
  }
  async function moreAudit(): Promise<void> {
    if (recordsNext.value === null) return;
    const page = await auditApi.listAudit(auditFilter.value, recordsNext.value);
    records.value = [...records.value, ...page.items];
    recordsNext.value = page.nextBefore;
  }
  async function verifyChain(): Promise<void> {
    verification.value = null;
    verification.value = await auditApi.verifyAudit();
  }

  async function searchConnections(filter: ConnectionFilter): Promise<void> {
    connectionFilter.value = { ...filter };
    const page = await auditApi.listConnections(filter);
    connections.value = page.items;
    connectionsNext.value = page.nextBefore;
  }
  async function moreConnections(): Promise<void> {
    if (connectionsNext.value === null) return;
    const page = await auditApi.listConnections(connectionFilter.value, connectionsNext.value);
    connections.value = [...connections.value, ...page.items];
    connectionsNext.value = page.nextBefore;
  }

  return {
    records: readonly(records),
    recordsNext: readonly(recordsNext),
    auditFilter: readonly(auditFilter),
    verification: readonly(verification),
    connections: readonly(connections),
    connectionsNext: readonly(connectionsNext),
    connectionFilter: readonly(connectionFilter),
    searchAudit,
    moreAudit,
    verifyChain,
    searchConnections,
    moreConnections,
  };
});
