/**
 * When a weekly schedule ("Saturday 12:00") next fires, in the tenant's time zone, as a
 * UTC instant. Uses only Intl, so daylight-saving changes come from the platform's time
 * zone data: 12:00 stays 12:00 local time in summer and winter.
 */
interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function localParts(instant: Date, timeZone: string): LocalParts {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    weekday: 'short',
    hourCycle: 'h23',
  }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')),
    minute: Number(get('minute')),
    weekday: WEEKDAYS.indexOf(get('weekday')),
  };
}

/** The UTC instant at which the wall clock in `timeZone` shows this local date and time. */
function zonedToUtc(
  local: { year: number; month: number; day: number; hour: number; minute: number },
  timeZone: string,
): Date {
  const wanted = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  let guess = wanted;
  for (let i = 0; i < 3; i += 1) {
    const shown = localParts(new Date(guess), timeZone);
    const shownUtc = Date.UTC(shown.year, shown.month - 1, shown.day, shown.hour, shown.minute);
    const diff = wanted - shownUtc;
    if (diff === 0) break;
    guess += diff;
  }
  return new Date(guess);
}

/**
 * The first run strictly after `after` on one of `weekdays` (0 = Sunday) at `time`
 * ("HH:MM") local time; null when no weekday is set.
 */
export function nextRun(
  weekdays: readonly number[],
  time: string,
  timeZone: string,
  after: Date,
): Date | null {
  if (weekdays.length === 0) return null;
  const [hour, minute] = time.split(':').map(Number) as [number, number];
  const today = localParts(after, timeZone);
  for (let offset = 0; offset <= 7; offset += 1) {
    const day = new Date(Date.UTC(today.year, today.month - 1, today.day + offset));
    const weekday = day.getUTCDay();
    if (!weekdays.includes(weekday)) continue;
    const at = zonedToUtc(
      {
        year: day.getUTCFullYear(),
        month: day.getUTCMonth() + 1,
        day: day.getUTCDate(),
        hour,
        minute,
      },
      timeZone,
    );
    if (at.getTime() > after.getTime()) return at;
  }
  return null;
}
