/**
 * The talk timer: how long the current turn has run against the channel's maximum talk
 * time, when the warning tone is due, and a short label for the button. Pure; the page
 * calls it on every animation tick with the current time.
 */

/** The warning tone sounds this long before the server ends the turn. */
export const WARN_BEFORE_MS = 5000;

export interface TalkTimer {
  elapsedMs: number;
  /** Null when the channel has no limit. */
  remainingMs: number | null;
  /** Within `warnBeforeMs` of the end (and the turn is long enough to warn at all). */
  warn: boolean;
  /** Share of the maximum talk time used, 0…1 (0 without a limit). */
  fraction: number;
  /** "0:07 / 0:30", or "0:07" without a limit. */
  label: string;
}

/** "m:ss" for a duration in ms, rounded down to whole seconds; negative counts as 0. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

export function talkTimer(
  startedAt: number,
  maxTalkMs: number,
  now: number,
  warnBeforeMs = WARN_BEFORE_MS,
): TalkTimer {
  const elapsedMs = Math.max(0, now - startedAt);
  if (maxTalkMs <= 0) {
    return {
      elapsedMs,
      remainingMs: null,
      warn: false,
      fraction: 0,
      label: formatDuration(elapsedMs),
    };
  }
  const remainingMs = Math.max(0, maxTalkMs - elapsedMs);
  // A turn shorter than twice the warning time would warn from its first half: skip it.
  const warn = maxTalkMs > 2 * warnBeforeMs && remainingMs <= warnBeforeMs;
  return {
    elapsedMs,
    remainingMs,
    warn,
    fraction: Math.min(1, elapsedMs / maxTalkMs),
    label: `${formatDuration(elapsedMs)} / ${formatDuration(maxTalkMs)}`,
  };
}
