import type { StyleSpecification } from 'maplibre-gl';

/**
 * The basemap style comes from our own server (`/maps/style.json`): the embedded world
 * map with labels, or street maps when the admin configured a regional extract. Every URL
 * in it is a path on our origin (`/maps/fonts/…`, `pmtiles:///tiles/…`), resolved here
 * against the page's origin, so the map never asks another host for anything.
 */

/** Path of the style in the user's language (labels and country names). */
export function styleUrl(locale: string): string {
  return `/maps/style.json?lang=${encodeURIComponent(locale)}`;
}

/**
 * An absolute URL on `origin` for an origin-relative one; other URLs unchanged.
 * `pmtiles:///tiles/x.pmtiles` becomes `pmtiles://https://host/tiles/x.pmtiles`.
 */
export function resolveOnOrigin(url: string, origin: string): string {
  if (url.startsWith('pmtiles:///')) return `pmtiles://${origin}${url.slice('pmtiles://'.length)}`;
  if (url.startsWith('/') && !url.startsWith('//')) return `${origin}${url}`;
  return url;
}

/** The zoom the style's data supports (street maps go deeper than the world map). */
export function styleMaxZoom(style: StyleSpecification | undefined, fallback: number): number {
  const value = (style?.metadata as Record<string, unknown> | undefined)?.['trupp:max-zoom'];
  return typeof value === 'number' && value > 0 && value <= 24 ? value : fallback;
}
