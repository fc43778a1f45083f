import { describe, expect, it } from 'vitest';
import {
  drawShapes,
  extendShape,
  fitImage,
  isMeaningful,
  scaleToFit,
  startShape,
  toBox,
  toImage,
  type Shape,
} from './annotate.ts';

describe('fitting the photo into the editor', () => {
  it('letterboxes a landscape photo in a portrait box and maps taps back to image pixels', () => {
    // 4000×3000 photo in a 400×800 box: scale 0.1, 300 px tall, centred vertically.
    const viewport = fitImage(4000, 3000, 400, 800);
    expect(viewport.scale).toBeCloseTo(0.1);
    expect(viewport.offsetX).toBe(0);
    expect(viewport.offsetY).toBe(250);

    expect(toImage(viewport, { x: 200, y: 400 })).toEqual({ x: 2000, y: 1500 });
    expect(toImage(viewport, { x: 10, y: 260 })).toEqual({ x: 100, y: 100 });
    expect(toBox(viewport, { x: 2000, y: 1500 })).toEqual({ x: 200, y: 400 });
  });

  it('clamps points outside the picture to its edge', () => {
    const viewport = fitImage(4000, 3000, 400, 800);
    expect(toImage(viewport, { x: -50, y: 10 })).toEqual({ x: 0, y: 0 });
    expect(toImage(viewport, { x: 500, y: 790 })).toEqual({ x: 4000, y: 3000 });
  });

  it('scales a small picture up to fill the box', () => {
    const viewport = fitImage(100, 50, 400, 400);
    expect(viewport.scale).toBe(4);
    expect(viewport.offsetY).toBe(100);
  });
});

describe('output size', () => {
  it('limits the longest side and keeps the aspect ratio', () => {
    expect(scaleToFit(4032, 3024, 2560)).toEqual({ width: 2560, height: 1920 });
    expect(scaleToFit(3024, 4032, 320)).toEqual({ width: 240, height: 320 });
  });

  it('never scales up', () => {
    expect(scaleToFit(800, 600, 2560)).toEqual({ width: 800, height: 600 });
  });
});

describe('shape model', () => {
  it('an arrow drag keeps its start and follows the pointer', () => {
    let shape = startShape('arrow', 'red', { x: 10, y: 10 });
    shape = extendShape(shape, { x: 50, y: 40 });
    shape = extendShape(shape, { x: 110, y: 10 });
    expect(shape).toEqual({
      kind: 'arrow',
      color: 'red',
      from: { x: 10, y: 10 },
      to: { x: 110, y: 10 },
    });
    expect(isMeaningful(shape, 8)).toBe(true);
  });

  it('freehand collects points without duplicates and does not change the old shape', () => {
    const first = startShape('freehand', 'yellow', { x: 1, y: 1 });
    const second = extendShape(first, { x: 2, y: 2 });
    const third = extendShape(second, { x: 2, y: 2 });
    expect(first.kind === 'freehand' && first.points).toEqual([{ x: 1, y: 1 }]);
    expect(third.kind === 'freehand' && third.points).toEqual([
      { x: 1, y: 1 },
      { x: 2, y: 2 },
    ]);
  });

  it('drops taps with the arrow and circle tools and empty text', () => {
    const tap = startShape('circle', 'red', { x: 100, y: 100 });
    expect(isMeaningful(extendShape(tap, { x: 103, y: 102 }), 8)).toBe(false);
    expect(isMeaningful(extendShape(tap, { x: 100, y: 140 }), 8)).toBe(true);
    expect(isMeaningful(startShape('freehand', 'red', { x: 1, y: 1 }), 8)).toBe(false);
    const text: Shape = { kind: 'text', color: 'white', at: { x: 0, y: 0 }, text: '  ' };
    expect(isMeaningful(text, 8)).toBe(false);
  });
});

describe('drawing', () => {
  it('strokes every shape in image coordinates and writes text', () => {
    const calls: string[] = [];
    const ctx = new Proxy(
      {},
      {
        get:
          (_target, name: string) =>
          (...args: unknown[]) =>
            calls.push(`${name}(${args.join(',')})`),
        set: () => true,
      },
    ) as unknown as CanvasRenderingContext2D;
    drawShapes(
      ctx,
      [
        { kind: 'arrow', color: 'red', from: { x: 0, y: 0 }, to: { x: 100, y: 0 } },
        { kind: 'circle', color: 'black', from: { x: 10, y: 10 }, to: { x: 30, y: 50 } },
        { kind: 'text', color: 'yellow', at: { x: 5, y: 6 }, text: 'Gas valve' },
      ],
      1000,
      500,
    );
    expect(calls).toContain('moveTo(0,0)');
    expect(calls).toContain('lineTo(100,0)');
    expect(calls).toContain(`ellipse(20,30,10,20,0,0,${Math.PI * 2})`);
    expect(calls).toContain('fillText(Gas valve,5,6)');
    // Two strokes per line shape: outline, then colour.
    expect(calls.filter((call) => call.startsWith('stroke('))).toHaveLength(4);
  });
});
