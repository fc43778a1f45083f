/** Response statistics of past alarms and their CSV export (dispatch, leads, admins). */
import { request, requestFile } from './http.ts';

export interface StatsFilter {
  /** ISO times; the server defaults to the last 90 days. */
  from?: string;
  to?: string;
  includeTests?: boolean;
}

export interface AlarmStatsRow {
  alarmId: string;
  keyword: string;
  title: string;
  isTest: boolean;
  createdAt: string;
  closedAt: string | null;
  recipients: number;
  delivered: number;
  answered: number;
  coming: number;
  later: number;
  notComing: number;
  /** 0…1, null when nobody was alerted. */
  responseRate: number | null;
  medianResponseSeconds: number | null;
  p90ResponseSeconds: number | null;
  firstComingSeconds: number | null;
}

export interface UnitStatsRow {
  unitId: string;
  name: string;
  alarms: number;
  alerted: number;
  answered: number;
  coming: number;
  responseRate: number | null;
  medianResponseSeconds: number | null;
}

export interface MemberStatsRow {
  userId: string;
  displayName: string;
  alerted: number;
  answered: number;
  coming: number;
  responseRate: number | null;
  medianResponseSeconds: number | null;
}

export interface AlarmStatistics {
  from: string;
  to: string;
  includeTests: boolean;
  totals: {
    alarms: number;
    alerted: number;
    answered: number;
    coming: number;
    responseRate: number | null;
    medianResponseSeconds: number | null;
  };
  alarms: AlarmStatsRow[];
  units: UnitStatsRow[];
  members: MemberStatsRow[];
}

function query(filter: StatsFilter): string {
  const params = new URLSearchParams();
  if (filter.from) params.set('from', filter.from);
  if (filter.to) params.set('to', filter.to);
  if (filter.includeTests) params.set('includeTests', 'true');
  const text = params.toString();
  return text ? `?${text}` : '';
}

export const getStatistics = (filter: StatsFilter): Promise<AlarmStatistics> =>
  request('GET', `/api/alarm-statistics${query(filter)}`);

export const downloadStatisticsCsv = (
  filter: StatsFilter,
): Promise<{ blob: Blob; filename: string }> =>
  requestFile(`/api/alarm-statistics.csv${query(filter)}`, 'trupp-alarm-statistics.csv');
