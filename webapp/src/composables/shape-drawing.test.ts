import { describe, expect, it } from 'vitest';
import { useShapeDrawing } from './shape-drawing.ts';
import { distanceM } from '../map/draw.ts';

describe('drawing a geofence', () => {
  it('adds a corner per click and closes the ring from three corners', () => {
    const d = useShapeDrawing();
    d.start('polygon');
    d.click({ lat: 51, lon: 10 });
    d.click({ lat: 51, lon: 10.01 });
    expect(d.geometry.value).toBeNull();
    d.click({ lat: 51.01, lon: 10.01 });
    expect(d.geometry.value).toEqual({
      kind: 'polygon',
      ring: [
        [10, 51],
        [10.01, 51],
        [10.01, 51.01],
        [10, 51],
      ],
    });
    d.undo();
    expect(d.geometry.value).toBeNull();
  });

  it('sets a circle by its centre and a point on the edge', () => {
    const d = useShapeDrawing();
    d.start('circle');
    d.click({ lat: 51, lon: 10 });
    expect(d.geometry.value).toMatchObject({ kind: 'circle', lat: 51, lon: 10, radiusM: 200 });
    const edge = { lat: 51.0045, lon: 10 }; // about 500 m north
    d.click(edge);
    const radius = (d.geometry.value as { radiusM: number }).radiusM;
    expect(Math.abs(radius - distanceM({ lat: 51, lon: 10 }, edge))).toBeLessThan(1);
    expect(radius).toBeGreaterThan(495);
    expect(radius).toBeLessThan(505);
    // The preview ring lies on the circle.
    for (const [lon, lat] of d.preview.value!) {
      expect(Math.abs(distanceM({ lat: 51, lon: 10 }, { lat, lon }) - radius)).toBeLessThan(3);
    }
    d.setRadius(1234);
    expect(d.geometry.value).toMatchObject({ radiusM: 1234 });
  });

  it('loads an existing shape to change it', () => {
    const d = useShapeDrawing();
    d.load({ kind: 'circle', lat: 50, lon: 8, radiusM: 300 });
    expect(d.geometry.value).toEqual({ kind: 'circle', lat: 50, lon: 8, radiusM: 300 });
    const ring: Array<[number, number]> = [
      [8, 50],
      [8.1, 50],
      [8.1, 50.1],
      [8, 50],
    ];
    d.load({ kind: 'polygon', ring });
    expect(d.geometry.value).toEqual({ kind: 'polygon', ring });
  });
});
