import { describe, expect, it } from 'vitest';
import { resolveOnOrigin, styleMaxZoom, styleUrl } from './basemap-style.ts';

describe('basemap style URLs', () => {
  const origin = 'https://trupp.example:8443';

  it('resolves origin-relative URLs against the page origin, pmtiles ones included', () => {
    expect(resolveOnOrigin('/maps/fonts/Noto Sans Regular/0-255.pbf', origin)).toBe(
      'https://trupp.example:8443/maps/fonts/Noto Sans Regular/0-255.pbf',
    );
    expect(resolveOnOrigin('pmtiles:///tiles/region.pmtiles', origin)).toBe(
      'pmtiles://https://trupp.example:8443/tiles/region.pmtiles',
    );
    expect(resolveOnOrigin('/maps/style.json?lang=de', origin)).toBe(
      'https://trupp.example:8443/maps/style.json?lang=de',
    );
    // Already absolute, or protocol-relative: left alone (and never produced by our style).
    expect(resolveOnOrigin('pmtiles://https://trupp.example:8443/tiles/x.pmtiles', origin)).toBe(
      'pmtiles://https://trupp.example:8443/tiles/x.pmtiles',
    );
    expect(resolveOnOrigin('//cdn.example/x', origin)).toBe('//cdn.example/x');
  });

  it('asks for the style in the user language and honours its zoom limit', () => {
    expect(styleUrl('de')).toBe('/maps/style.json?lang=de');
    expect(
      styleMaxZoom({ version: 8, sources: {}, layers: [], metadata: { 'trupp:max-zoom': 19 } }, 12),
    ).toBe(19);
    expect(styleMaxZoom({ version: 8, sources: {}, layers: [] }, 12)).toBe(12);
    expect(styleMaxZoom(undefined, 12)).toBe(12);
  });
});
