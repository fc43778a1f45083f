import type { Map as MapLibreMap } from 'maplibre-gl';

/**
 * Map labels drawn as images on a canvas with the device's own fonts, so names, fix ages
 * and cluster counts need no glyph download (the basemap style may have no glyphs) and
 * still go through MapLibre's symbol placement (collision, GPU rendering). A layer refers
 * to an image by an id that encodes its text (`labelImageId`); MapLibre asks our missing
 * image resolver for ones it lacks and we draw them on demand, only for what is on screen.
 */

const PREFIX = 'trupp-label:';
const COUNT_PREFIX = 'trupp-count:';
export const ARROW_IMAGE = 'trupp-arrow';

export type LabelTone = 'member' | 'alarm' | 'replay';

/** The image id of a label with these lines (first line bold). */
export function labelImageId(tone: LabelTone, lines: readonly string[]): string {
  return `${PREFIX}${tone}:${lines.join('\n')}`;
}

/** Expression for a cluster's count image. */
export const CLUSTER_COUNT_IMAGE = [
  'concat',
  COUNT_PREFIX,
  ['to-string', ['get', 'point_count_abbreviated']],
] as const;

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif';
const TONES: Record<LabelTone, { border: string; text: string }> = {
  member: { border: 'rgba(0,0,0,0.35)', text: '#111' },
  alarm: { border: '#c62828', text: '#7f0000' },
  replay: { border: '#1565c0', text: '#0d2b52' },
};

function context(width: number, height: number, ratio: number) {
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(width * ratio);
  canvas.height = Math.ceil(height * ratio);
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.scale(ratio, ratio);
  return ctx;
}

function drawLabel(tone: LabelTone, text: string, ratio: number): ImageData | null {
  const lines = text.split('\n');
  const sizes = lines.map((_, i) => (i === 0 ? 14 : 12));
  const fonts = lines.map((_, i) => `${i === 0 ? 600 : 400} ${sizes[i]}px ${FONT}`);
  const measure = context(1, 1, 1);
  if (!measure) return null;
  const widths = lines.map((line, i) => {
    measure.font = fonts[i]!;
    return measure.measureText(line).width;
  });
  const padX = 6;
  const padY = 4;
  const lineHeight = (i: number) => sizes[i]! + 3;
  const width = Math.ceil(Math.max(...widths) + padX * 2);
  const height = Math.ceil(lines.reduce((h, _, i) => h + lineHeight(i), 0) + padY * 2 - 3);
  const ctx = context(width, height, ratio);
  if (!ctx) return null;
  const colours = TONES[tone];
  ctx.fillStyle = 'rgba(255,255,255,0.92)';
  ctx.strokeStyle = colours.border;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.roundRect(0.5, 0.5, width - 1, height - 1, 4);
  ctx.fill();
  ctx.stroke();
  ctx.fillStyle = colours.text;
  ctx.textBaseline = 'top';
  let y = padY;
  lines.forEach((line, i) => {
    ctx.font = fonts[i]!;
    ctx.fillText(line, padX, y);
    y += lineHeight(i);
  });
  return ctx.getImageData(0, 0, Math.ceil(width * ratio), Math.ceil(height * ratio));
}

function drawCount(text: string, ratio: number): ImageData | null {
  const size = 32;
  const ctx = context(size, size, ratio);
  if (!ctx) return null;
  ctx.font = `700 ${text.length > 3 ? 12 : 15}px ${FONT}`;
  ctx.fillStyle = '#fff';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, size / 2, size / 2 + 1);
  return ctx.getImageData(0, 0, size * ratio, size * ratio);
}

/** An arrow pointing up (north at heading 0), rotated by the layer. */
function drawArrow(ratio: number): ImageData | null {
  const size = 22;
  const ctx = context(size, size, ratio);
  if (!ctx) return null;
  ctx.fillStyle = '#111';
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(size / 2, 2);
  ctx.lineTo(size - 4, size - 4);
  ctx.lineTo(size / 2, size - 8);
  ctx.lineTo(4, size - 4);
  ctx.closePath();
  ctx.stroke();
  ctx.fill();
  return ctx.getImageData(0, 0, size * ratio, size * ratio);
}

interface Registry {
  /** Image ids we added, by the layer (owner) that uses them now. */
  inUse: Map<string, Set<string>>;
  added: Set<string>;
  /** Ids in use at the previous prune: kept one more round (tiles may still show them). */
  previous: Set<string>;
  lastPrune: number;
}
const registries = new WeakMap<MapLibreMap, Registry>();

/** Draws our label, count and arrow images whenever the map asks for one. Idempotent. */
export function installLabelImages(map: MapLibreMap): void {
  if (registries.has(map)) return;
  const registry: Registry = {
    inUse: new Map(),
    added: new Set(),
    previous: new Set(),
    lastPrune: 0,
  };
  registries.set(map, registry);
  // A resolver, not a `styleimagemissing` listener: since MapLibre 6 that event comes after
  // the tile asking for the image has been answered without it, and an image added then
  // does not reload that tile, so a label whose text changes (the fix age) would never
  // show. The tile's layout waits for the resolver. It survives `setStyle`.
  map.setMissingStyleImageResolver((id) => {
    const ratio = Math.min(3, Math.max(1, Math.round(window.devicePixelRatio || 1)));
    let image: ImageData | null = null;
    if (id.startsWith(PREFIX)) {
      const rest = id.slice(PREFIX.length);
      const colon = rest.indexOf(':');
      const tone = rest.slice(0, colon) as LabelTone;
      image = drawLabel(tone in TONES ? tone : 'member', rest.slice(colon + 1), ratio);
    } else if (id.startsWith(COUNT_PREFIX)) {
      image = drawCount(id.slice(COUNT_PREFIX.length), ratio);
    } else if (id === ARROW_IMAGE) {
      image = drawArrow(ratio);
    }
    if (!image || map.hasImage(id)) return;
    map.addImage(id, image, { pixelRatio: ratio });
    // Counts and the arrow are few and always reused; only text labels come and go.
    if (id.startsWith(PREFIX)) registry.added.add(id);
  });
  // A new style drops every image; they are drawn again when asked for.
  map.on('style.load', () => registry.added.clear());
}

const PRUNE_EVERY_MS = 60_000;

/**
 * Tells the registry which label images `owner` shows now; images nobody has used for a
 * while (fix ages tick every minute) are removed, so memory stays flat on a long shift.
 */
export function labelsInUse(map: MapLibreMap, owner: string, ids: Iterable<string>): void {
  const registry = registries.get(map);
  if (!registry) return;
  registry.inUse.set(owner, new Set(ids));
  const now = Date.now();
  if (now - registry.lastPrune < PRUNE_EVERY_MS) return;
  registry.lastPrune = now;
  const current = new Set<string>();
  for (const set of registry.inUse.values()) for (const id of set) current.add(id);
  for (const id of registry.added) {
    if (current.has(id) || registry.previous.has(id)) continue;
    if (map.hasImage(id)) map.removeImage(id);
    registry.added.delete(id);
  }
  registry.previous = current;
}
