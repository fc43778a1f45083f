import { describe, expect, it } from 'vitest';
import { pathUntil, positionAt, timeRange, timed } from './replay.ts';

const T0 = Date.parse('2025-06-01T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

// Out of order on purpose: the server sorts, but replay must not depend on it.
const track = timed([
  { lat: 51.0, lon: 10.0, accuracyM: 5, recordedAt: at(0) },
  { lat: 51.2, lon: 10.4, accuracyM: 5, recordedAt: at(20) },
  { lat: 51.1, lon: 10.2, accuracyM: 5, recordedAt: at(10) },
]);

describe('replay interpolation', () => {
  it('sorts the points by time', () => {
    expect(track.map((p) => p.t - T0)).toEqual([0, 10_000, 20_000]);
  });

  it('is unknown before the first fix, exact on a fix and linear between two', () => {
    expect(positionAt(track, T0 - 1)).toBeNull();
    expect(positionAt(track, T0)).toEqual({ lat: 51.0, lon: 10.0 });
    const quarter = positionAt(track, T0 + 2_500)!;
    expect(quarter.lat).toBeCloseTo(51.025, 9);
    expect(quarter.lon).toBeCloseTo(10.05, 9);
    const between = positionAt(track, T0 + 15_000)!;
    expect(between.lat).toBeCloseTo(51.15, 9);
    expect(between.lon).toBeCloseTo(10.3, 9);
  });

  it('stays at the last fix after the track ends', () => {
    expect(positionAt(track, T0 + 3600_000)).toEqual({ lat: 51.2, lon: 10.4 });
    expect(positionAt([], T0)).toBeNull();
  });

  it('draws the path travelled so far, ending where the member is now', () => {
    expect(pathUntil(track, T0 - 1)).toEqual([]);
    expect(pathUntil(track, T0)).toEqual([[10.0, 51.0]]);
    const path = pathUntil(track, T0 + 15_000);
    expect(path.slice(0, 2)).toEqual([
      [10.0, 51.0],
      [10.2, 51.1],
    ]);
    expect(path).toHaveLength(3);
    expect(path[2]![0]).toBeCloseTo(10.3, 9);
    expect(pathUntil(track, T0 + 20_000)).toHaveLength(3);
  });

  it('spans all tracks from the first to the last fix', () => {
    const other = timed([{ lat: 0, lon: 0, accuracyM: 1, recordedAt: at(30) }]);
    expect(timeRange([track, other, []])).toEqual({ start: T0, end: T0 + 30_000 });
    expect(timeRange([[], []])).toBeNull();
  });
});
