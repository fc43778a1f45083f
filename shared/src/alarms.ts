import type { Role } from './roles.ts';

/**
 * Alarms as the backend sends them and the webapp (and test devices) keep them.
 * The server pushes `alarm.raised` / `alarm.updated` live; a device that was away syncs
 * the `alarms` source on reconnect. Both paths go through `AlarmInbox`, which keys by
 * alarm id, so an alarm that arrives twice is still listed once.
 */
export const ALARM_PRIORITIES = ['normal', 'high', 'critical'] as const;
export type AlarmPriority = (typeof ALARM_PRIORITIES)[number];

export const ALARM_RESPONSES = ['coming', 'not_coming', 'later'] as const;
export type AlarmResponse = (typeof ALARM_RESPONSES)[number];

export const AVAILABILITY_STATES = ['available', 'limited', 'unavailable'] as const;
export type AvailabilityState = (typeof AVAILABILITY_STATES)[number];

/** A recurring time in the week (tenant time zone) with a reduced availability. */
export interface AvailabilityWindow {
  /** 0 = Sunday … 6 = Saturday: the day the window starts. */
  weekdays: number[];
  /** "HH:MM"; a `to` before `from` runs over midnight. */
  from: string;
  to: string;
  status: 'limited' | 'unavailable';
}

/** How long a tap overrides a weekly plan. */
export const AVAILABILITY_OVERRIDE_MS = 12 * 3600_000;

const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

/**
 * A member's availability at a moment: a tap (while its `until` has not passed) wins,
 * then the weekly plan, else available. `local` is the moment in the tenant's time zone
 * (weekday 0 = Sunday, minutes since midnight).
 */
export function effectiveAvailability(
  row: {
    status: AvailabilityState;
    until: Date | null;
    schedule: AvailabilityWindow[] | null;
    updatedAt: Date;
  } | null,
  now: Date,
  local: { weekday: number; minutes: number },
): AvailabilityState {
  if (!row) return 'available';
  const manualActive = row.until === null || row.until > now;
  if (manualActive && row.status !== 'available') return row.status;
  if (manualActive && row.status === 'available' && row.until !== null) return 'available';
  for (const w of row.schedule ?? []) {
    const from = minutesOf(w.from);
    const to = minutesOf(w.to);
    const yesterday = (local.weekday + 6) % 7;
    const inside =
      from <= to
        ? w.weekdays.includes(local.weekday) && local.minutes >= from && local.minutes < to
        : (w.weekdays.includes(local.weekday) && local.minutes >= from) ||
          (w.weekdays.includes(yesterday) && local.minutes < to);
    if (inside) return w.status;
  }
  return 'available';
}

const WEEKDAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Weekday (0 = Sunday) and minutes since midnight of `now` in `timeZone`. */
export function localWeekTime(now: Date, timeZone: string): { weekday: number; minutes: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    weekday: WEEKDAY_NAMES.indexOf(get('weekday')),
    minutes: Number(get('hour')) * 60 + Number(get('minute')),
  };
}

/** Longest "later" a member can announce, and largest ETA stored. */
export const MAX_ETA_MINUTES = 240;

export const ALARM_SERVER_EVENTS = {
  /** A new alarm (or a re-alert by escalation) for this member: show it full screen. */
  raised: 'alarm.raised',
  /** Text changed or the alarm was closed. */
  updated: 'alarm.updated',
  /** Recipients' states changed (dispatch board); coalesced, a batch per event. */
  board: 'alarm.board',
} as const;

export const ALARM_CLIENT_EVENTS = {
  /** The device has the alarm: `{ alarmId }`. Idempotent. */
  ack: 'alarm.ack',
  /** The member has seen it full screen: `{ alarmId }`. Idempotent. */
  read: 'alarm.read',
  /** `{ alarmId, response, etaMinutes? }`. Idempotent. */
  respond: 'alarm.respond',
  /** Dispatch: receive board updates of one alarm: `{ alarmId }` → `AlarmBoard`. */
  watch: 'alarm.watch',
  unwatch: 'alarm.unwatch',
} as const;

/** Members whose last known position is inside a circle or polygon ([lon, lat] ring). */
export type AlarmArea =
  | { kind: 'circle'; lat: number; lon: number; radiusKm: number }
  | { kind: 'polygon'; ring: Array<[number, number]> };

export interface AlarmTargets {
  unitIds: string[];
  roles: Role[];
  userIds: string[];
  qualificationIds: string[];
  area?: AlarmArea | null;
  /** Everyone whose last known position is inside one of these geofences (as for `area`). */
  geofenceIds?: string[];
}

/** A last known position older than this does not count for area targets. */
export const POSITION_MAX_AGE_MS = 12 * 3600_000;

/** A member's last known position as dispatch sees it. */
export interface MemberPosition {
  userId: string;
  lat: number;
  lon: number;
  accuracyM: number;
  recordedAt: string;
  /** Degrees from north and km/h when the device knows them (live updates carry them). */
  heading?: number | null;
  speedKmh?: number | null;
}

export const POSITION_SERVER_EVENTS = {
  /**
   * To board-room consoles that did not send `positions.subscribe` (older clients): one
   * member's new position (`MemberPosition`), coalesced per member like the batches.
   */
  updated: 'position.updated',
  /** To subscribed consoles: `MemberPosition[]`, at most one entry per member per batch. */
  batch: 'positions.updated',
  /** The member stopped sharing: remove the marker (`{ userId }`). */
  removed: 'position.removed',
  /** To the member's own devices: whether or why they share changed; read it again. */
  sharingChanged: 'position.sharing_changed',
} as const;

export const POSITION_CLIENT_EVENTS = {
  /** `{ lat, lon, accuracy, heading?, speed?, recordedAt }` → `{ stored }`. */
  report: 'position.report',
  /**
   * Dispatch/lead console: `{ unitId? }` → `{ positions: MapPosition[] }` (the current
   * ones), then batched `positions.updated` for the whole tenant or one unit (with its
   * sub-units). Subscribing again replaces the previous subscription.
   */
  subscribe: 'positions.subscribe',
  /** `{}` → `null`: no more batches. */
  unsubscribe: 'positions.unsubscribe',
} as const;

export interface AlarmRequirements {
  minMembers: number;
  qualifications: { qualificationId: string; min: number }[];
}

export interface AlarmEscalation {
  afterSeconds: number;
  minComing: number;
  extendTargets: AlarmTargets;
}

/** What a member's device shows; no targets or requirements (those are dispatch's). */
export interface AlarmSummary {
  id: string;
  keyword: string;
  title: string;
  text: string;
  priority: AlarmPriority;
  sound: string;
  isTest: boolean;
  lat: number | null;
  lon: number | null;
  address: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** This member's own answer, when the summary is addressed to one member. */
  myResponse: AlarmResponse | null;
  myEtaMinutes: number | null;
  /** Grows with each re-alert; a device alerts again when it sees a higher number. */
  alertCount: number;
}

export interface AlarmRecipientState {
  userId: string;
  displayName: string;
  stage: number;
  alertCount: number;
  sentAt: string;
  deliveredAt: string | null;
  readAt: string | null;
  response: AlarmResponse | null;
  etaMinutes: number | null;
  respondedAt: string | null;
  qualificationIds: string[];
  /**
   * For members coming to an alarm with a location who share their position: straight-
   * line distance from their last position and the ETA it gives at the configured speed.
   */
  distanceKm?: number | null;
  positionEtaMinutes?: number | null;
}

export interface RequirementStatus {
  /** null = the member count requirement. */
  qualificationId: string | null;
  name: string;
  need: number;
  have: number;
  met: boolean;
}

export interface AlarmTotals {
  recipients: number;
  delivered: number;
  read: number;
  coming: number;
  notComing: number;
  later: number;
  noAnswer: number;
}

export interface AlarmBoard {
  alarm: AlarmSummary & {
    targets: AlarmTargets;
    requirements: AlarmRequirements;
    escalation: AlarmEscalation | null;
    escalationStage: number;
    allHands: boolean;
    source: string;
  };
  recipients: AlarmRecipientState[];
  totals: AlarmTotals;
  requirements: RequirementStatus[];
}

/** One `alarm.board` event: the changed recipient rows of one alarm. */
export interface AlarmBoardDelta {
  alarmId: string;
  recipients: Array<Partial<AlarmRecipientState> & { userId: string }>;
  escalationStage?: number;
  closedAt?: string | null;
}

/** Requirement fulfilment over the members who come. */
export function requirementStatus(
  requirements: AlarmRequirements,
  recipients: readonly Pick<AlarmRecipientState, 'response' | 'qualificationIds'>[],
  qualificationName: (id: string) => string,
): RequirementStatus[] {
  const coming = recipients.filter((r) => r.response === 'coming');
  const out: RequirementStatus[] = [];
  if (requirements.minMembers > 0) {
    out.push({
      qualificationId: null,
      name: '',
      need: requirements.minMembers,
      have: coming.length,
      met: coming.length >= requirements.minMembers,
    });
  }
  for (const q of requirements.qualifications) {
    const have = coming.filter((r) => r.qualificationIds.includes(q.qualificationId)).length;
    out.push({
      qualificationId: q.qualificationId,
      name: qualificationName(q.qualificationId),
      need: q.min,
      have,
      met: have >= q.min,
    });
  }
  return out;
}

export function alarmTotals(
  recipients: readonly Pick<AlarmRecipientState, 'deliveredAt' | 'readAt' | 'response'>[],
): AlarmTotals {
  const count = (f: (r: (typeof recipients)[number]) => boolean) => recipients.filter(f).length;
  return {
    recipients: recipients.length,
    delivered: count((r) => r.deliveredAt !== null),
    read: count((r) => r.readAt !== null),
    coming: count((r) => r.response === 'coming'),
    notComing: count((r) => r.response === 'not_coming'),
    later: count((r) => r.response === 'later'),
    noAnswer: count((r) => r.response === null),
  };
}

/**
 * A device's list of alarms, merged from live events and sync pages by id. `merge`
 * answers whether the alarm is new to this device or re-alerted (alert it) — never for
 * an alarm it already showed at the same alert count.
 */
export class AlarmInbox {
  readonly #byId = new Map<string, AlarmSummary>();

  merge(alarm: AlarmSummary): { alert: boolean } {
    const known = this.#byId.get(alarm.id);
    if (known && Date.parse(known.updatedAt) > Date.parse(alarm.updatedAt)) {
      return { alert: false };
    }
    this.#byId.set(alarm.id, alarm);
    const alert = alarm.closedAt === null && (!known || alarm.alertCount > known.alertCount);
    return { alert };
  }

  get(id: string): AlarmSummary | undefined {
    return this.#byId.get(id);
  }

  /** Newest first. */
  list(): AlarmSummary[] {
    return [...this.#byId.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  get size(): number {
    return this.#byId.size;
  }

  clear(): void {
    this.#byId.clear();
  }
}
