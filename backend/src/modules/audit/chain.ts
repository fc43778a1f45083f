import { createHash } from 'node:crypto';

/** prevHash of a chain's first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields a record's hash covers — everything but its row id. */
export interface ChainedRecord {
  tenantId: string;
  seq: number;
  at: Date;
  actorUserId: string | null;
  actorDeviceId: string | null;
  actorIp: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
}

/** JSON with object keys sorted at every level, so equal data always hashes equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function chainHash(prevHash: string, record: ChainedRecord): string {
  const body = canonicalJson([
    record.tenantId,
    record.seq,
    record.at.toISOString(),
    record.actorUserId,
    record.actorDeviceId,
    record.actorIp,
    record.action,
    record.targetType,
    record.targetId,
    record.details,
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}
