import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ETA_SPEED_KMH,
  MAX_ETA_SPEED_KMH,
  MIN_ETA_SPEED_KMH,
  clampSpeed,
  distanceKm,
  straightLineEtaMinutes,
} from './distance.ts';

describe('distance and straight-line ETA', () => {
  it('measures great-circle distance in kilometres', () => {
    // Berlin Brandenburger Tor → Munich Marienplatz: about 504 km.
    const km = distanceKm({ lat: 52.5163, lon: 13.3777 }, { lat: 48.1374, lon: 11.5755 });
    expect(km).toBeGreaterThan(500);
    expect(km).toBeLessThan(508);
    // One hundredth of a degree of latitude is about 1.11 km anywhere.
    expect(distanceKm({ lat: 51.16, lon: 10.45 }, { lat: 51.17, lon: 10.45 })).toBeCloseTo(
      1.112,
      2,
    );
    expect(distanceKm({ lat: 51.16, lon: 10.45 }, { lat: 51.16, lon: 10.45 })).toBe(0);
  });

  it('rounds the travel time up to whole minutes at the given speed', () => {
    expect(straightLineEtaMinutes(10, 40)).toBe(15);
    expect(straightLineEtaMinutes(10.1, 40)).toBe(16);
    expect(straightLineEtaMinutes(0, 40)).toBe(0);
    expect(straightLineEtaMinutes(10, 60)).toBe(10);
    expect(() => straightLineEtaMinutes(10, 0)).toThrow(RangeError);
  });

  it('keeps a typed speed within bounds', () => {
    expect(clampSpeed(55.4)).toBe(55);
    expect(clampSpeed(0)).toBe(MIN_ETA_SPEED_KMH);
    expect(clampSpeed(1000)).toBe(MAX_ETA_SPEED_KMH);
    expect(clampSpeed(Number.NaN)).toBe(DEFAULT_ETA_SPEED_KMH);
  });
});
