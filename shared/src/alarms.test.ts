import { describe, expect, it } from 'vitest';
import { effectiveAvailability, localWeekTime, type AvailabilityWindow } from './alarms.ts';

const WORK: AvailabilityWindow = {
  weekdays: [1, 2, 3, 4, 5],
  from: '07:00',
  to: '17:00',
  status: 'unavailable',
};
const NIGHT: AvailabilityWindow = { weekdays: [5], from: '22:00', to: '06:00', status: 'limited' };

describe('effectiveAvailability', () => {
  const now = new Date('2026-12-01T10:00:00Z');
  const at = (weekday: number, hhmm: string) => {
    const [h, m] = hhmm.split(':').map(Number) as [number, number];
    return { weekday, minutes: h * 60 + m };
  };
  const plan = (
    schedule: AvailabilityWindow[],
    manual?: { status: 'available' | 'limited' | 'unavailable'; until: Date | null },
  ) => ({
    status: manual?.status ?? ('available' as const),
    until: manual ? manual.until : null,
    schedule,
    updatedAt: now,
  });

  it('follows the weekly plan, including windows over midnight', () => {
    expect(effectiveAvailability(plan([WORK]), now, at(2, '10:00'))).toBe('unavailable');
    expect(effectiveAvailability(plan([WORK]), now, at(2, '17:00'))).toBe('available');
    expect(effectiveAvailability(plan([WORK]), now, at(6, '10:00'))).toBe('available');
    expect(effectiveAvailability(plan([NIGHT]), now, at(5, '23:30'))).toBe('limited');
    expect(effectiveAvailability(plan([NIGHT]), now, at(6, '05:59'))).toBe('limited');
    expect(effectiveAvailability(plan([NIGHT]), now, at(6, '06:00'))).toBe('available');
  });

  it('lets a tap override the plan until it runs out', () => {
    const later = new Date(now.getTime() + 3600_000);
    const earlier = new Date(now.getTime() - 1000);
    expect(
      effectiveAvailability(
        plan([WORK], { status: 'available', until: later }),
        now,
        at(2, '10:00'),
      ),
    ).toBe('available');
    expect(
      effectiveAvailability(
        plan([WORK], { status: 'available', until: earlier }),
        now,
        at(2, '10:00'),
      ),
    ).toBe('unavailable');
    expect(
      effectiveAvailability(plan([], { status: 'unavailable', until: null }), now, at(6, '10:00')),
    ).toBe('unavailable');
    expect(effectiveAvailability(null, now, at(2, '10:00'))).toBe('available');
  });
});

describe('localWeekTime', () => {
  it('reads weekday and time in the organisation’s time zone', () => {
    // Saturday 23:30 UTC is already Sunday 00:30 in Berlin (winter).
    expect(localWeekTime(new Date('2026-12-05T23:30:00Z'), 'Europe/Berlin')).toEqual({
      weekday: 0,
      minutes: 30,
    });
  });
});
