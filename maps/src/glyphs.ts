import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PbfReader, PbfWriter } from 'pbf';

/**
 * Glyph PBFs for MapLibre (the Mapbox glyph protocol: one file per font and range of 256
 * code points, each glyph a signed distance field with a 3-pixel border) generated from
 * Noto Sans as shipped in `@fontsource/noto-sans` (SIL Open Font License 1.1). fontnik
 * renders the SDFs with FreeType (its npm package ships the native module prebuilt).
 *
 * Fontsource splits the font by script, one WOFF file per subset; each range is rendered
 * from every subset that covers part of it and merged, the first subset winning.
 */

const require = createRequire(import.meta.url);

interface FontnikFace {
  family_name: string;
  style_name: string;
  points: number[];
}
interface Fontnik {
  load(font: Buffer, callback: (error: Error | null, faces: FontnikFace[]) => void): void;
  range(
    options: { font: Buffer; start: number; end: number },
    callback: (error: Error | null, pbf: Buffer) => void,
  ): void;
}

/** The font stacks we serve, named as the Protomaps basemap layers name them. */
export const FONT_STACKS = {
  'Noto Sans Regular': { weight: 400, style: 'normal' },
  'Noto Sans Medium': { weight: 500, style: 'normal' },
  'Noto Sans Italic': { weight: 400, style: 'italic' },
} as const;
export type FontStack = keyof typeof FONT_STACKS;
export const DEFAULT_FONT_STACK: FontStack = 'Noto Sans Regular';

/**
 * The font we serve for a requested font stack (names joined by commas, as MapLibre asks):
 * the first name we have, else the closest by style of the first name, so a style that
 * asks for fonts we do not have still shows its labels.
 */
export function resolveFontStack(stack: string): FontStack {
  const names = stack.split(',').map((name) => name.trim());
  const known = names.find((name): name is FontStack => Object.hasOwn(FONT_STACKS, name));
  if (known) return known;
  const first = names[0] ?? '';
  if (/italic|oblique/i.test(first)) return 'Noto Sans Italic';
  if (/bold|medium|semi|heavy|black/i.test(first)) return 'Noto Sans Medium';
  return DEFAULT_FONT_STACK;
}

/** Latin first: basic and Latin-1 (umlauts, ß), Extended-A/B; then Greek, Cyrillic, Vietnamese. */
const SUBSETS = [
  'latin',
  'latin-ext',
  'greek',
  'greek-ext',
  'cyrillic',
  'cyrillic-ext',
  'vietnamese',
] as const;

export interface Glyph {
  id: number;
  /** SDF of (width + 6) × (height + 6) bytes; absent for blank glyphs such as the space. */
  bitmap?: Uint8Array;
  width: number;
  height: number;
  left: number;
  top: number;
  advance: number;
}

/** Decodes a glyph PBF (all font stacks in it) into its glyphs. */
export function decodeGlyphs(data: Uint8Array): Glyph[] {
  const glyphs: Glyph[] = [];
  const readGlyph = (tag: number, g: Glyph, p: PbfReader) => {
    if (tag === 1) g.id = p.readVarint();
    else if (tag === 2) g.bitmap = p.readBytes();
    else if (tag === 3) g.width = p.readVarint();
    else if (tag === 4) g.height = p.readVarint();
    else if (tag === 5) g.left = p.readSVarint();
    else if (tag === 6) g.top = p.readSVarint();
    else if (tag === 7) g.advance = p.readVarint();
  };
  const readStack = (tag: number, _: null, p: PbfReader) => {
    if (tag === 3) {
      glyphs.push(
        p.readMessage(readGlyph, { id: 0, width: 0, height: 0, left: 0, top: 0, advance: 0 }),
      );
    }
  };
  new PbfReader(data).readFields((tag, _: null, p) => {
    if (tag === 1) p.readMessage(readStack, null);
  }, null);
  return glyphs;
}

/** Encodes glyphs as one font stack named `name` for the range starting at `start`. */
export function encodeGlyphs(name: string, start: number, glyphs: Glyph[]): Uint8Array {
  const pbf = new PbfWriter();
  pbf.writeMessage(
    1,
    (_: undefined, stack) => {
      stack.writeStringField(1, name);
      stack.writeStringField(2, `${start}-${start + 255}`);
      for (const glyph of glyphs) {
        stack.writeMessage(
          3,
          (g: Glyph, out) => {
            out.writeVarintField(1, g.id);
            if (g.bitmap && g.bitmap.length > 0) out.writeBytesField(2, g.bitmap);
            out.writeVarintField(3, g.width);
            out.writeVarintField(4, g.height);
            out.writeSVarintField(5, g.left);
            out.writeSVarintField(6, g.top);
            out.writeVarintField(7, g.advance);
          },
          glyph,
        );
      }
    },
    undefined,
  );
  return pbf.finish();
}

function fontnik(): Fontnik {
  return require('fontnik') as Fontnik;
}

function loadFace(font: Buffer): Promise<FontnikFace> {
  return new Promise((resolve, reject) =>
    fontnik().load(font, (error, faces) =>
      error || !faces[0] ? reject(error ?? new Error('no face in font')) : resolve(faces[0]),
    ),
  );
}

function renderRange(font: Buffer, start: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    fontnik().range({ font, start, end: start + 255 }, (error, pbf) =>
      error ? reject(error) : resolve(pbf),
    ),
  );
}

/**
 * Renders every range of 256 code points the font stack covers.
 * @returns range start → glyph PBF, in ascending order of start.
 */
export async function buildFontStack(name: FontStack): Promise<Map<number, Uint8Array>> {
  const { weight, style } = FONT_STACKS[name];
  const subsets = await Promise.all(
    SUBSETS.map(async (subset) => {
      const font = readFileSync(
        require.resolve(`@fontsource/noto-sans/files/noto-sans-${subset}-${weight}-${style}.woff`),
      );
      const face = await loadFace(font);
      return { font, starts: new Set(face.points.map((point) => point - (point % 256))) };
    }),
  );
  const starts = [...new Set(subsets.flatMap((s) => [...s.starts]))].sort((a, b) => a - b);
  const out = new Map<number, Uint8Array>();
  for (const start of starts) {
    const rendered = await Promise.all(
      subsets.filter((s) => s.starts.has(start)).map((s) => renderRange(s.font, start)),
    );
    const byId = new Map<number, Glyph>();
    for (const pbf of rendered) {
      for (const glyph of decodeGlyphs(pbf)) if (!byId.has(glyph.id)) byId.set(glyph.id, glyph);
    }
    const glyphs = [...byId.values()].sort((a, b) => a.id - b.id);
    if (glyphs.length > 0) out.set(start, encodeGlyphs(name, start, glyphs));
  }
  return out;
}
