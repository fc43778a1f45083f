import {
  POSITION_STOP_HOLD_MS,
  effectiveAvailability,
  localWeekTime,
  type AvailabilityState,
  type AvailabilityWindow,
  type PositionSharingReason,
  type PositionSharingState,
} from '@trupp/shared';

/**
 * Whether a member shares their position, decided from facts that change only through
 * events (switching, answering, closing, availability, tenant settings) — so the facts
 * can be cached and invalidated by those events, while everything that changes with the
 * clock (a shift ending, a weekly plan window starting) is evaluated at decision time.
 * Times are epoch milliseconds so the facts survive a round trip through Redis as JSON.
 */
export interface MemberFacts {
  tenantId: string;
  /** Switched on until (null: not switched on). */
  until: number | null;
  /** Last press of stop (null: never). */
  stoppedAt: number | null;
  /** Open alarms the member answered "coming" to, with the incident's location. */
  coming: Array<{ alarmId: string; lat: number | null; lon: number | null; respondedAt: number }>;
  availability: {
    status: AvailabilityState;
    until: number | null;
    schedule: AvailabilityWindow[] | null;
    updatedAt: number;
  } | null;
  /** Units the member belongs to directly (live updates go to their rooms). */
  unitIds: string[];
  /** Recorded time of the last position MariaDB held when the facts were loaded. */
  lastRecordedAt: number | null;
}

export interface TenantFacts {
  shareOnDuty: boolean;
  timezone: string;
  /** Last positions older than this are not shown (the retention job deletes them). */
  retentionTrackHours: number;
}

export interface SharingDecision extends PositionSharingState {
  /** Alarms whose incident the member is coming to and shares for (ETA on the board). */
  comingAlarmIds: string[];
}

/** Local week time per zone and minute: Intl formatting is too slow for every report. */
const weekTimes = new Map<string, { weekday: number; minutes: number }>();
function cachedWeekTime(now: number, timeZone: string) {
  const key = `${timeZone}|${Math.floor(now / 60_000)}`;
  let value = weekTimes.get(key);
  if (!value) {
    if (weekTimes.size > 1000) weekTimes.clear();
    value = localWeekTime(new Date(now), timeZone);
    weekTimes.set(key, value);
  }
  return value;
}

/** The member's availability now ("available" = on duty). */
export function availabilityNow(
  facts: Pick<MemberFacts, 'availability'>,
  tenant: TenantFacts,
  now: number,
): AvailabilityState {
  const a = facts.availability;
  if (!a) return 'available';
  return effectiveAvailability(
    {
      status: a.status,
      until: a.until === null ? null : new Date(a.until),
      schedule: a.schedule,
      updatedAt: new Date(a.updatedAt),
    },
    new Date(now),
    a.schedule?.length ? cachedWeekTime(now, tenant.timezone) : { weekday: 0, minutes: 0 },
  );
}

/**
 * The rules, in order: switched on (until its end) → coming to an open alarm → on duty,
 * if the organisation enables it. A stop suppresses the alarm reason for alarms answered
 * before it, and the on-duty reason until the member changes their availability or
 * POSITION_STOP_HOLD_MS (one shift) passes; switching on clears the stop.
 */
export function decideSharing(
  facts: MemberFacts,
  tenant: TenantFacts,
  now: number,
): SharingDecision {
  const { stoppedAt } = facts;
  const switchedOn = facts.until !== null && facts.until > now;
  const comingAlarmIds = facts.coming
    .filter((c) => stoppedAt === null || c.respondedAt > stoppedAt)
    .map((c) => c.alarmId);
  const onDuty = availabilityNow(facts, tenant, now) === 'available';
  const dutyStopped =
    stoppedAt !== null &&
    now - stoppedAt < POSITION_STOP_HOLD_MS &&
    !(facts.availability && facts.availability.updatedAt > stoppedAt);
  const sharesOnDuty = tenant.shareOnDuty && onDuty && !dutyStopped;
  const reason: PositionSharingReason | null = switchedOn
    ? 'switched_on'
    : comingAlarmIds.length > 0
      ? 'alarm'
      : sharesOnDuty
        ? 'on_duty'
        : null;
  const sharing = reason !== null;
  return {
    sharing,
    reason,
    until: switchedOn ? new Date(facts.until!).toISOString() : null,
    onDutyEnabled: tenant.shareOnDuty,
    onDuty,
    // The stop is what keeps sharing off right now (an alarm or duty would share).
    stopped:
      !sharing &&
      stoppedAt !== null &&
      (comingAlarmIds.length < facts.coming.length || (tenant.shareOnDuty && onDuty)),
    comingAlarmIds: sharing ? comingAlarmIds : [],
  };
}
