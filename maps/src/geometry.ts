import type { Polygon, Position } from 'geojson';

/**
 * Repairs Natural Earth polygons before tiling, the two traps that make land flood the
 * sea: rings that jump across the antimeridian (cut them into an east and a west part)
 * and rings wound the wrong way (exterior counter-clockwise, holes clockwise, as RFC 7946
 * wants and as the tiler turns into the vector-tile convention).
 */

/** Twice the signed area (shoelace); positive for counter-clockwise in lon/lat. */
export function signedArea(ring: Position[]): number {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    sum += (ring[j]![0]! - ring[i]![0]!) * (ring[j]![1]! + ring[i]![1]!);
  }
  return sum / 2;
}

export function rewind(polygon: Position[][]): Position[][] {
  return polygon.map((ring, index) => {
    const ccw = signedArea(ring) > 0;
    const wantCcw = index === 0;
    return ccw === wantCcw ? ring : [...ring].reverse();
  });
}

/** Sum of the ±360° corrections `unwrap` applies: non-zero for a ring around a pole. */
function netShift(ring: Position[]): number {
  let shift = 0;
  for (let i = 1; i < ring.length; i += 1) {
    const d = ring[i]![0]! - ring[i - 1]![0]!;
    if (d > 180) shift -= 360;
    else if (d < -180) shift += 360;
  }
  return shift;
}

/**
 * A ring around a pole (Antarctica) runs from one edge of the map to the other and closes
 * along the seam: correct as it is. Any other ring that jumps by more than 180° in
 * longitude crosses the antimeridian and must be cut.
 */
export function crossesAntimeridian(ring: Position[]): boolean {
  const jumps = ring.some((p, i) => i > 0 && Math.abs(p[0]! - ring[i - 1]![0]!) > 180);
  return jumps && netShift(ring) === 0;
}

/** Makes a ring continuous by shifting longitudes by ±360 where it jumps. */
function unwrap(ring: Position[]): Position[] {
  const out: Position[] = [];
  let shift = 0;
  ring.forEach((p, i) => {
    if (i > 0) {
      const d = p[0]! - ring[i - 1]![0]!;
      if (d > 180) shift -= 360;
      else if (d < -180) shift += 360;
    }
    out.push([p[0]! + shift, p[1]!]);
  });
  return out;
}

/** Sutherland–Hodgman clip of a closed ring to the half plane lon ≤ edge (keep = 'left') or ≥ edge. */
function clipRing(ring: Position[], edge: number, keep: 'left' | 'right'): Position[] {
  const inside = (p: Position) => (keep === 'left' ? p[0]! <= edge : p[0]! >= edge);
  const out: Position[] = [];
  for (let i = 0; i < ring.length - 1; i += 1) {
    const a = ring[i]!;
    const b = ring[i + 1]!;
    const cross = (): Position => {
      const t = (edge - a[0]!) / (b[0]! - a[0]!);
      return [edge, a[1]! + t * (b[1]! - a[1]!)];
    };
    if (inside(b)) {
      if (!inside(a)) out.push(cross());
      out.push(b);
    } else if (inside(a)) {
      out.push(cross());
    }
  }
  if (out.length > 0) out.push(out[0]!);
  return out.length >= 4 ? out : [];
}

/**
 * Returns polygons that stay within [-180, 180]: a polygon whose rings jump across the
 * antimeridian is unwrapped and cut at ±180 into parts on either side.
 */
export function splitAtAntimeridian(polygon: Position[][]): Position[][][] {
  if (netShift(polygon[0]!) !== 0 || !polygon.some(crossesAntimeridian)) return [polygon];
  const rings = polygon.map(unwrap);
  const minLon = Math.min(...rings[0]!.map((p) => p[0]!));
  // Which seam the unwrapped ring straddles: +180 or -180.
  const edge = minLon < -180 ? -180 : 180;
  const parts: Position[][][] = [];
  for (const keep of ['left', 'right'] as const) {
    const shift = keep === 'left' ? (edge === 180 ? 0 : 360) : edge === 180 ? -360 : 0;
    const outer = clipRing(rings[0]!, edge, keep);
    // Nothing of the exterior on this side: its holes cannot be there either.
    if (outer.length === 0) continue;
    const holes = rings
      .slice(1)
      .map((ring) => clipRing(ring, edge, keep))
      .filter((ring) => ring.length > 0);
    parts.push([outer, ...holes].map((ring) => ring.map((p) => [p[0]! + shift, p[1]!])));
  }
  return parts;
}

/** Both repairs, for one GeoJSON polygon. */
export function repairPolygon(polygon: Polygon['coordinates']): Position[][][] {
  // Zero-area rings (slivers from quantisation or the cut) carry no land; drop them.
  return splitAtAntimeridian(polygon)
    .filter(([outer]) => outer !== undefined && signedArea(outer) !== 0)
    .map(([outer, ...holes]) =>
      rewind([outer!, ...holes.filter((hole) => signedArea(hole) !== 0)]),
    );
}
