import { describe, expect, it } from 'vitest';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import type { StyleSpecification } from '@maplibre/maplibre-gl-style-spec';
import { FONT_STACKS } from './glyphs.ts';
import { embeddedStyle, regionStyle, styleLanguage, withoutIcons, zoomToShow } from './style.ts';

const header = {
  tileType: 1,
  minZoom: 0,
  maxZoom: 15,
  bounds: [9, 51, 10, 51.6] as [number, number, number, number],
  center: [9.5, 51.3, 0] as [number, number, number],
};

/** Every font a style's symbol layers may ask for (literal names inside expressions too). */
function fontsIn(style: StyleSpecification): Set<string> {
  const fonts = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string' && /^Noto Sans/.test(value)) fonts.add(value);
    else if (Array.isArray(value)) value.forEach(walk);
  };
  for (const layer of style.layers) {
    if (layer.type === 'symbol') walk(layer.layout?.['text-font']);
  }
  return fonts;
}

describe('styles', () => {
  for (const [name, style] of [
    ['embedded', embeddedStyle('de')],
    ['region', regionStyle('de', header)],
  ] as const) {
    it(`${name}: valid by the MapLibre style specification, fonts we serve, no sprites`, () => {
      expect(validateStyleMin(style)).toEqual([]);
      expect(style.sprite).toBeUndefined();
      const served = new Set(Object.keys(FONT_STACKS));
      // Protomaps names a Devanagari font for Indian place names; it falls back to ours.
      const missing = [...fontsIn(style)].filter(
        (f) => !served.has(f) && !f.includes('Devanagari'),
      );
      expect(missing).toEqual([]);
    });
  }

  it('keeps the text of symbol layers and drops icon-only layers when removing icons', () => {
    const layers = withoutIcons([
      {
        id: 'shield',
        type: 'symbol',
        source: 's',
        layout: { 'icon-image': 'x', 'icon-size': 2, 'text-field': 'A 7' },
      },
      { id: 'arrows', type: 'symbol', source: 's', layout: { 'icon-image': 'arrow' } },
      { id: 'fill', type: 'fill', source: 's' },
    ]);
    expect(layers.map((l) => l.id)).toEqual(['shield', 'fill']);
    expect(layers[0]).toMatchObject({ layout: { 'text-field': 'A 7' } });
    expect(Object.keys((layers[0] as { layout: object }).layout)).toEqual(['text-field']);
  });

  it('opens on the extract at a zoom that shows it, in the user language', () => {
    expect(zoomToShow([9, 51, 10, 51.6])).toBe(9);
    expect(zoomToShow([5.8, 47.2, 15.1, 55.1])).toBe(5); // all of Germany
    expect(zoomToShow([9.45, 51.28, 9.55, 51.34])).toBe(12);
    expect(styleLanguage('de-AT')).toBe('de');
    expect(styleLanguage('fr')).toBe('en');
    expect(styleLanguage(undefined)).toBe('en');
  });
});
