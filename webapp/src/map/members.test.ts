import { describe, expect, it } from 'vitest';
import type { MapMember } from '../api/positions.ts';
import {
  MEMBER_STATUSES,
  STATUS_COLOURS,
  STALE_AFTER_MS,
  fixAge,
  memberFeatures,
  memberStatus,
  metresToPixelsAtZoom0,
} from './members.ts';
import { labelImageId } from './label-images.ts';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');

function member(overrides: Partial<MapMember> = {}): MapMember {
  return {
    userId: 'u1',
    displayName: 'Max Mustermann',
    lat: 51.16,
    lon: 10.45,
    accuracyM: 20,
    heading: null,
    speedKmh: null,
    recordedAt: new Date(NOW - 30_000).toISOString(),
    units: [{ id: 'g1', name: 'Gruppe 1' }],
    availability: 'available',
    alarm: null,
    ...overrides,
  };
}

describe('member status and colour', () => {
  it('follows the answer to the open alarm first, then availability', () => {
    const alarm = (response: 'coming' | 'not_coming' | 'later' | null) => ({
      alarmId: 'a1',
      response,
      etaMinutes: null,
    });
    expect(memberStatus(member({ alarm: alarm('coming') }))).toBe('coming');
    expect(memberStatus(member({ alarm: alarm('not_coming') }))).toBe('not_coming');
    expect(memberStatus(member({ alarm: alarm('later') }))).toBe('later');
    // Alerted but silent: "no answer", even when marked unavailable (all-hands alarm).
    expect(memberStatus(member({ alarm: alarm(null), availability: 'unavailable' }))).toBe(
      'no_answer',
    );
    expect(memberStatus(member({ availability: 'limited' }))).toBe('limited');
    expect(memberStatus(member({ availability: 'unavailable' }))).toBe('unavailable');
    expect(memberStatus(member())).toBe('available');
  });

  it('gives every status its own colour, the board’s green for coming', () => {
    const colours = MEMBER_STATUSES.map((s) => STATUS_COLOURS[s]);
    expect(new Set(colours).size).toBe(MEMBER_STATUSES.length);
    expect(STATUS_COLOURS.coming).toBe('#2e7d32');
    expect(STATUS_COLOURS.later).toBe('#ef6c00');
  });
});

describe('fix age', () => {
  it('counts seconds, then minutes, then hours, rounded down', () => {
    const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();
    expect(fixAge(at(0), NOW)).toEqual({ n: 0, unit: 's' });
    expect(fixAge(at(59_999), NOW)).toEqual({ n: 59, unit: 's' });
    expect(fixAge(at(60_000), NOW)).toEqual({ n: 1, unit: 'min' });
    expect(fixAge(at(2 * 60_000 + 59_000), NOW)).toEqual({ n: 2, unit: 'min' });
    expect(fixAge(at(3600_000), NOW)).toEqual({ n: 1, unit: 'h' });
    expect(fixAge(at(11 * 3600_000), NOW)).toEqual({ n: 11, unit: 'h' });
  });

  it('never goes negative when the device clock is ahead', () => {
    expect(fixAge(new Date(NOW + 20_000).toISOString(), NOW)).toEqual({ n: 0, unit: 's' });
  });
});

describe('accuracy circle', () => {
  it('is the accuracy in screen pixels: 512 px per world width at zoom 0, narrower north', () => {
    // At the equator 40,075 km span 512 px: one pixel is ~78.3 km.
    expect(metresToPixelsAtZoom0(78_271.5, 0)).toBeCloseTo(1, 4);
    // At 60° north a degree of longitude is half as long: the same metres cover twice the pixels.
    expect(metresToPixelsAtZoom0(78_271.5, 60)).toBeCloseTo(2, 4);
    // 20 m at zoom 15 in Musterstadt (51.16°): about 20 / (78271.5·cos φ / 2^15) ≈ 13 px.
    const px = metresToPixelsAtZoom0(20, 51.16) * 2 ** 15;
    expect(px).toBeGreaterThan(12.5);
    expect(px).toBeLessThan(13.5);
  });
});

describe('member features', () => {
  it('carries status, heading, staleness and a label image per member', () => {
    const fc = memberFeatures(
      [
        member(),
        member({
          userId: 'u2',
          heading: 270,
          recordedAt: new Date(NOW - STALE_AFTER_MS - 1).toISOString(),
          alarm: { alarmId: 'a', response: 'coming', etaMinutes: 5 },
        }),
      ],
      NOW,
      (m) => [m.displayName, 'Gruppe 1 · 30 s'],
    );
    expect(fc.features).toHaveLength(2);
    const [a, b] = fc.features;
    expect(a!.geometry.coordinates).toEqual([10.45, 51.16]);
    expect(a!.properties).toMatchObject({
      userId: 'u1',
      status: 'available',
      heading: -1,
      stale: false,
    });
    expect(a!.properties.labelImage).toBe(
      labelImageId('member', ['Max Mustermann', 'Gruppe 1 · 30 s']),
    );
    expect(b!.properties).toMatchObject({ status: 'coming', heading: 270, stale: true });
    // People coming are placed (labelled) first where labels collide.
    expect(b!.properties.rank).toBeLessThan(a!.properties.rank);
  });

  it('builds a thousand members quickly enough to redo on every live batch', () => {
    const many = Array.from({ length: 1000 }, (_, i) =>
      member({ userId: `u${i}`, lat: 51 + i * 0.001, lon: 10 + i * 0.001 }),
    );
    const started = performance.now();
    for (let round = 0; round < 10; round += 1) {
      memberFeatures(many, NOW, (m) => [m.displayName, '1 min']);
    }
    expect((performance.now() - started) / 10).toBeLessThan(25);
  });
});
