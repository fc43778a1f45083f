/**
 * Photo annotation: a list of shapes in image pixel coordinates and the code that draws
 * them onto a canvas. Framework-free so the editor component, the export at full
 * resolution and the tests share one model. Shapes live in image coordinates (not screen
 * ones) so the preview and the burnt-in JPEG show the same thing at any size; line width
 * and text size scale with the picture for the same reason.
 */

export const ANNOTATION_COLORS = {
  red: '#e0201b',
  yellow: '#ffd500',
  white: '#ffffff',
  black: '#000000',
} as const;
export type AnnotationColor = keyof typeof ANNOTATION_COLORS;

export const ANNOTATION_TOOLS = ['arrow', 'circle', 'freehand', 'text'] as const;
export type AnnotationTool = (typeof ANNOTATION_TOOLS)[number];

export interface Point {
  x: number;
  y: number;
}

/** `circle` is an ellipse inside the box dragged from `from` to `to`. */
export type Shape =
  | { kind: 'arrow'; color: AnnotationColor; from: Point; to: Point }
  | { kind: 'circle'; color: AnnotationColor; from: Point; to: Point }
  | { kind: 'freehand'; color: AnnotationColor; points: Point[] }
  | { kind: 'text'; color: AnnotationColor; at: Point; text: string };

/** Where the image sits in a box it is fitted into (letterboxed, aspect kept). */
export interface Viewport {
  /** Screen pixels per image pixel. */
  scale: number;
  offsetX: number;
  offsetY: number;
  imageWidth: number;
  imageHeight: number;
}

/** Fits an image into a box, centred, never cropped. Scales up too (small photos stay usable). */
export function fitImage(
  imageWidth: number,
  imageHeight: number,
  boxWidth: number,
  boxHeight: number,
): Viewport {
  const scale = Math.min(boxWidth / imageWidth, boxHeight / imageHeight);
  return {
    scale,
    offsetX: (boxWidth - imageWidth * scale) / 2,
    offsetY: (boxHeight - imageHeight * scale) / 2,
    imageWidth,
    imageHeight,
  };
}

/** A point in the box (e.g. CSS pixels from the canvas's top-left) → image pixels, clamped to the image. */
export function toImage(viewport: Viewport, point: Point): Point {
  const x = (point.x - viewport.offsetX) / viewport.scale;
  const y = (point.y - viewport.offsetY) / viewport.scale;
  return {
    x: Math.min(viewport.imageWidth, Math.max(0, x)),
    y: Math.min(viewport.imageHeight, Math.max(0, y)),
  };
}

/** An image point → box coordinates (where to place the inline text input, say). */
export function toBox(viewport: Viewport, point: Point): Point {
  return {
    x: point.x * viewport.scale + viewport.offsetX,
    y: point.y * viewport.scale + viewport.offsetY,
  };
}

/** Width and height scaled down so the longest side is at most `maxPx`; never scaled up. */
export function scaleToFit(
  width: number,
  height: number,
  maxPx: number,
): { width: number; height: number } {
  const factor = Math.min(1, maxPx / Math.max(width, height));
  return {
    width: Math.max(1, Math.round(width * factor)),
    height: Math.max(1, Math.round(height * factor)),
  };
}

/** Stroke width in image pixels: visible on a phone photo and on a small screenshot alike. */
export function strokeWidth(imageWidth: number, imageHeight: number): number {
  return Math.max(4, Math.round(Math.max(imageWidth, imageHeight) / 120));
}

/** Text height in image pixels. */
export function fontSize(imageWidth: number, imageHeight: number): number {
  return Math.max(16, Math.round(Math.max(imageWidth, imageHeight) / 22));
}

/**
 * The shape a drag with `tool` starts at `at`. Text is not dragged (it is placed by a tap
 * and typed), so it has no start here.
 */
export function startShape(
  tool: Exclude<AnnotationTool, 'text'>,
  color: AnnotationColor,
  at: Point,
): Shape {
  if (tool === 'freehand') return { kind: 'freehand', color, points: [at] };
  return { kind: tool, color, from: at, to: at };
}

/** The shape after the pointer moved to `to`. Returns a new shape; the input is not changed. */
export function extendShape(shape: Shape, to: Point): Shape {
  switch (shape.kind) {
    case 'arrow':
    case 'circle':
      return { ...shape, to };
    case 'freehand': {
      const last = shape.points.at(-1);
      // Pointer events come faster than the finger moves; identical points add nothing.
      if (last && last.x === to.x && last.y === to.y) return shape;
      return { ...shape, points: [...shape.points, to] };
    }
    case 'text':
      return shape;
  }
}

/**
 * Whether a finished drag is worth keeping: a tap with the arrow or circle tool (a
 * glove brushing the screen) is dropped instead of leaving a dot the user must undo.
 */
export function isMeaningful(shape: Shape, minSize: number): boolean {
  switch (shape.kind) {
    case 'arrow':
      return Math.hypot(shape.to.x - shape.from.x, shape.to.y - shape.from.y) >= minSize;
    case 'circle':
      return (
        Math.abs(shape.to.x - shape.from.x) >= minSize ||
        Math.abs(shape.to.y - shape.from.y) >= minSize
      );
    case 'freehand':
      return shape.points.length > 1;
    case 'text':
      return shape.text.trim().length > 0;
  }
}

/** A colour that stands out against `color`, for the outline that keeps marks readable on any photo. */
function outlineFor(color: AnnotationColor): string {
  return color === 'white' || color === 'yellow' ? 'rgba(0,0,0,0.65)' : 'rgba(255,255,255,0.75)';
}

function tracePath(ctx: CanvasRenderingContext2D, shape: Shape, width: number): void {
  ctx.beginPath();
  switch (shape.kind) {
    case 'arrow': {
      const { from, to } = shape;
      const angle = Math.atan2(to.y - from.y, to.x - from.x);
      const head = Math.max(width * 4, Math.hypot(to.x - from.x, to.y - from.y) * 0.2);
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x, to.y);
      ctx.moveTo(
        to.x - head * Math.cos(angle - Math.PI / 7),
        to.y - head * Math.sin(angle - Math.PI / 7),
      );
      ctx.lineTo(to.x, to.y);
      ctx.lineTo(
        to.x - head * Math.cos(angle + Math.PI / 7),
        to.y - head * Math.sin(angle + Math.PI / 7),
      );
      break;
    }
    case 'circle': {
      const cx = (shape.from.x + shape.to.x) / 2;
      const cy = (shape.from.y + shape.to.y) / 2;
      const rx = Math.abs(shape.to.x - shape.from.x) / 2;
      const ry = Math.abs(shape.to.y - shape.from.y) / 2;
      ctx.ellipse(cx, cy, Math.max(rx, 0.5), Math.max(ry, 0.5), 0, 0, Math.PI * 2);
      break;
    }
    case 'freehand': {
      const [first, ...rest] = shape.points;
      if (!first) return;
      ctx.moveTo(first.x, first.y);
      for (const point of rest) ctx.lineTo(point.x, point.y);
      break;
    }
    case 'text':
      break;
  }
}

/**
 * Draws shapes onto `ctx`, whose current transform maps image pixels to canvas pixels
 * (the caller sets it). `imageWidth`/`imageHeight` size the strokes and text.
 */
export function drawShapes(
  ctx: CanvasRenderingContext2D,
  shapes: readonly Shape[],
  imageWidth: number,
  imageHeight: number,
): void {
  const width = strokeWidth(imageWidth, imageHeight);
  const size = fontSize(imageWidth, imageHeight);
  ctx.save();
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  for (const shape of shapes) {
    if (shape.kind === 'text') {
      ctx.font = `700 ${size}px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif`;
      ctx.textBaseline = 'middle';
      ctx.lineWidth = Math.max(2, size / 6);
      ctx.strokeStyle = outlineFor(shape.color);
      ctx.fillStyle = ANNOTATION_COLORS[shape.color];
      ctx.strokeText(shape.text, shape.at.x, shape.at.y);
      ctx.fillText(shape.text, shape.at.x, shape.at.y);
      continue;
    }
    // Outline first, then the colour on top: a red arrow stays visible on a red wall.
    tracePath(ctx, shape, width);
    ctx.lineWidth = width * 1.8;
    ctx.strokeStyle = outlineFor(shape.color);
    ctx.stroke();
    ctx.lineWidth = width;
    ctx.strokeStyle = ANNOTATION_COLORS[shape.color];
    ctx.stroke();
  }
  ctx.restore();
}

export interface AnnotatedPhoto {
  /** JPEG with the annotations burnt in, longest side at most `maxPx`. */
  image: Blob;
  /** Small JPEG data URL for the message list and notifications. */
  thumbnail: string;
  width: number;
  height: number;
}

export const PHOTO_MAX_PX = 2560;
export const THUMBNAIL_MAX_PX = 320;

function canvasToBlob(canvas: HTMLCanvasElement, type: string, quality: number): Promise<Blob> {
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('canvas could not be encoded'))),
      type,
      quality,
    );
  });
}

function canvas2d(
  width: number,
  height: number,
): {
  canvas: HTMLCanvasElement;
  ctx: CanvasRenderingContext2D;
} {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('2d canvas is not available');
  return { canvas, ctx };
}

/**
 * Renders the picture with its shapes at the original resolution (at most `maxPx` on the
 * longest side) as JPEG, plus a thumbnail. Re-encoding also drops the original's
 * metadata (EXIF GPS position, camera serial) before the photo leaves the device.
 * @throws Error when the browser has no 2d canvas or cannot encode JPEG.
 */
export async function exportAnnotated(
  source: CanvasImageSource,
  imageWidth: number,
  imageHeight: number,
  shapes: readonly Shape[],
  maxPx = PHOTO_MAX_PX,
): Promise<AnnotatedPhoto> {
  const size = scaleToFit(imageWidth, imageHeight, maxPx);
  const { canvas, ctx } = canvas2d(size.width, size.height);
  // JPEG has no alpha: a transparent PNG would turn black without a white ground.
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, size.width, size.height);
  ctx.drawImage(source, 0, 0, size.width, size.height);
  ctx.setTransform(size.width / imageWidth, 0, 0, size.height / imageHeight, 0, 0);
  drawShapes(ctx, shapes, imageWidth, imageHeight);
  const image = await canvasToBlob(canvas, 'image/jpeg', 0.85);

  const small = scaleToFit(size.width, size.height, THUMBNAIL_MAX_PX);
  const thumb = canvas2d(small.width, small.height);
  thumb.ctx.imageSmoothingQuality = 'high';
  thumb.ctx.drawImage(canvas, 0, 0, small.width, small.height);
  const thumbnail = thumb.canvas.toDataURL('image/jpeg', 0.7);
  return { image, thumbnail, width: size.width, height: size.height };
}
