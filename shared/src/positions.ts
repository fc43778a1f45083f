/**
 * Position sharing as the member sees it. A member shares while switched on (for a
 * shift, ending by itself), while coming to an open alarm (until it closes), or — if the
 * organisation enables it — while on duty (availability "available"). Stopping ends all
 * of them until the member switches on again, answers another alarm "coming", or (for on
 * duty) changes their availability or the shift hold passes.
 */
export const POSITION_SHARING_REASONS = ['switched_on', 'alarm', 'on_duty'] as const;
export type PositionSharingReason = (typeof POSITION_SHARING_REASONS)[number];

/** How long a stop holds against sharing on duty when nothing else changes (one shift). */
export const POSITION_STOP_HOLD_MS = 12 * 3600_000;

export interface PositionSharingState {
  sharing: boolean;
  /** Why, when sharing; the first that applies of switched on, alarm, on duty. */
  reason: PositionSharingReason | null;
  /** Switched on until this time (null: not switched on). */
  until: string | null;
  /** The organisation shares positions of members on duty. */
  onDutyEnabled: boolean;
  /** The member is on duty (availability "available") right now. */
  onDuty: boolean;
  /** The member stopped sharing and that stop still holds. */
  stopped: boolean;
}

/** A live position with the member's name, as the map lists it. */
export interface MapPosition {
  userId: string;
  displayName: string;
  lat: number;
  lon: number;
  accuracyM: number;
  recordedAt: string;
}

/** Straight-line travel speed used for distance-based ETAs until routing exists. */
export const DEFAULT_TRAVEL_SPEED_KMH = 40;
