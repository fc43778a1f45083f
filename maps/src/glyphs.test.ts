import { beforeAll, describe, expect, it } from 'vitest';
import { buildFontStack, decodeGlyphs, resolveFontStack, type Glyph } from './glyphs.ts';

let ranges: Map<number, Uint8Array>;
beforeAll(async () => {
  ranges = await buildFontStack('Noto Sans Regular');
});

function glyphsOf(start: number): Map<number, Glyph> {
  const pbf = ranges.get(start);
  if (!pbf) throw new Error(`no range ${start}`);
  return new Map(decodeGlyphs(pbf).map((g) => [g.id, g]));
}

describe('glyphs', () => {
  it('covers Latin-1 and Latin Extended-A: every printable code point has a glyph', () => {
    const latin1 = glyphsOf(0);
    const extA = glyphsOf(256);
    const wanted = [
      ...Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => 0x20 + i),
      ...Array.from({ length: 0xff - 0xa0 + 1 }, (_, i) => 0xa0 + i),
    ];
    expect(wanted.filter((cp) => !latin1.has(cp))).toEqual([]);
    const extended = Array.from({ length: 0x17f - 0x100 + 1 }, (_, i) => 0x100 + i);
    expect(extended.filter((cp) => !extA.has(cp))).toEqual([]);
    // Greek and Cyrillic come along for place names abroad.
    expect(ranges.has(768)).toBe(true);
    expect(ranges.has(1024)).toBe(true);
  });

  it('holds signed distance fields a renderer can draw: inside bright, outside dark', () => {
    const glyphs = glyphsOf(0);
    for (const char of ['ä', 'ß', 'Ü', 'l', 'W']) {
      const g = glyphs.get(char.codePointAt(0)!)!;
      expect(g.advance, char).toBeGreaterThan(3);
      const w = g.width + 6;
      const h = g.height + 6;
      expect(g.bitmap?.length, char).toBe(w * h);
      // The 3-pixel border is outside the outline: far below MapLibre's edge at 192.
      expect(g.bitmap![0], char).toBeLessThan(150);
      expect(g.bitmap![w * h - 1], char).toBeLessThan(150);
      // Some pixels are inside the outline.
      expect(Math.max(...g.bitmap!), char).toBeGreaterThan(200);
    }
    // "l" is a vertical stem: its centre column is inside, halfway up.
    const l = glyphs.get('l'.codePointAt(0)!)!;
    const w = l.width + 6;
    const middle = Math.floor((l.height + 6) / 2) * w + Math.floor(w / 2);
    expect(l.bitmap![middle]).toBeGreaterThan(192);
    // The space has metrics but nothing to draw.
    expect(glyphs.get(32)).toMatchObject({ width: 0, height: 0 });
    expect(glyphs.get(32)!.advance).toBeGreaterThan(0);
  });

  it('answers any font stack with the closest font we have', () => {
    expect(resolveFontStack('Noto Sans Regular')).toBe('Noto Sans Regular');
    expect(resolveFontStack('Open Sans Bold,Arial Unicode MS Bold')).toBe('Noto Sans Medium');
    expect(resolveFontStack('Roboto Italic')).toBe('Noto Sans Italic');
    expect(resolveFontStack('Foo,Noto Sans Italic')).toBe('Noto Sans Italic');
    expect(resolveFontStack('Noto Sans Devanagari Regular v1')).toBe('Noto Sans Regular');
  });
});
