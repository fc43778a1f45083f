/** Alarms: templates, raising and the board (dispatch), answers and availability (members). */
import type {
  AlarmBoard,
  AlarmEscalation,
  AlarmPriority,
  AlarmRequirements,
  AlarmResponse,
  AlarmSummary,
  AlarmTargets,
  AvailabilityState,
  AvailabilityWindow,
  PositionSharingState,
} from '@trupp/shared';
import { request } from './http.ts';

const id = (value: string) => encodeURIComponent(value);

export interface AlarmTemplate {
  id: string;
  keyword: string;
  title: string;
  text: string;
  priority: AlarmPriority;
  targets: AlarmTargets;
  requirements: AlarmRequirements;
  escalation: AlarmEscalation | null;
  sound: string;
  opensChat: boolean;
  opensPtt: boolean;
}
export type TemplateBody = Omit<AlarmTemplate, 'id'>;

export interface TriggerBody {
  templateId?: string;
  keyword?: string;
  title?: string;
  text?: string;
  priority?: AlarmPriority;
  targets?: AlarmTargets;
  location?: { lat: number; lon: number } | null;
  address?: string;
  isTest?: boolean;
  allHands?: boolean;
}

export interface AlarmListItem extends AlarmSummary {
  recipients: number;
  coming: number;
  source: string;
}

export interface Availability {
  userId: string;
  status: AvailabilityState;
  manual: { status: AvailabilityState; until: string | null } | null;
  schedule: AvailabilityWindow[];
  updatedAt: string | null;
}

export const listTemplates = (): Promise<AlarmTemplate[]> => request('GET', '/api/alarm-templates');
export const createTemplate = (body: TemplateBody): Promise<AlarmTemplate> =>
  request('POST', '/api/alarm-templates', { body });
export const deleteTemplate = (templateId: string): Promise<void> =>
  request('DELETE', `/api/alarm-templates/${id(templateId)}`);

export const triggerAlarm = (body: TriggerBody): Promise<AlarmBoard> =>
  request('POST', '/api/alarms', { body });
export const listAlarms = (query: {
  status: 'open' | 'closed' | 'all';
  includeTests: boolean;
}): Promise<AlarmListItem[]> =>
  request(
    'GET',
    `/api/alarms?status=${query.status}&includeTests=${String(query.includeTests)}&limit=200`,
  );
export const getBoard = (alarmId: string): Promise<AlarmBoard> =>
  request('GET', `/api/alarms/${id(alarmId)}`);
export const updateAlarm = (
  alarmId: string,
  body: { text?: string; title?: string; addTargets?: AlarmTargets },
): Promise<AlarmBoard> => request('PATCH', `/api/alarms/${id(alarmId)}`, { body });
export const closeAlarm = (alarmId: string): Promise<AlarmBoard> =>
  request('POST', `/api/alarms/${id(alarmId)}/close`);

export const respond = (
  alarmId: string,
  response: AlarmResponse,
  etaMinutes: number | null,
): Promise<AlarmSummary> =>
  request('POST', `/api/me/alarms/${id(alarmId)}/response`, { body: { response, etaMinutes } });

export const getMyAvailability = (): Promise<Availability> =>
  request('GET', '/api/me/availability');
export const setMyAvailability = (status: AvailabilityState): Promise<Availability> =>
  request('PUT', '/api/me/availability', { body: { status } });
export const listAvailability = (): Promise<Availability[]> => request('GET', '/api/availability');

export interface AlarmSchedule {
  id: string;
  templateId: string;
  name: string;
  weekdays: number[];
  time: string;
  isTest: boolean;
  active: boolean;
  nextRunAt: string | null;
  lastRunAt: string | null;
}

export const listSchedules = (): Promise<AlarmSchedule[]> => request('GET', '/api/alarm-schedules');
export const createSchedule = (body: {
  templateId: string;
  name: string;
  weekdays: number[];
  time: string;
  isTest: boolean;
}): Promise<AlarmSchedule> => request('POST', '/api/alarm-schedules', { body });
export const deleteSchedule = (scheduleId: string): Promise<void> =>
  request('DELETE', `/api/alarm-schedules/${id(scheduleId)}`);

/** Whether and why the member shares their position (`PositionSharingState`). */
export type PositionSharing = PositionSharingState;
export const getPositionSharing = (): Promise<PositionSharing> =>
  request('GET', '/api/me/position-sharing');
export const setPositionSharing = (on: boolean): Promise<PositionSharing> =>
  request('PUT', '/api/me/position-sharing', { body: { on, hours: 8 } });

export const setMySchedule = (windows: AvailabilityWindow[]): Promise<Availability> =>
  request('PUT', '/api/me/availability/schedule', { body: { windows } });
