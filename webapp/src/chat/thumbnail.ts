/**
 * Thumbnails for chat photos: a small JPEG data URL that travels inside the encrypted
 * message, so the conversation shows a preview before the full photo is downloaded.
 */
import { exportAnnotated, scaleToFit, THUMBNAIL_MAX_PX, type AnnotatedPhoto } from './annotate.ts';

/**
 * Decodes an image with its EXIF orientation applied, so a portrait phone photo stays
 * upright on the canvas.
 * @throws DOMException InvalidStateError when the blob is not a decodable image.
 */
export function loadImage(blob: Blob): Promise<ImageBitmap> {
  return createImageBitmap(blob, { imageOrientation: 'from-image' });
}

export interface Thumbnail {
  /** `data:image/jpeg;base64,…` */
  dataUrl: string;
  /** Size of the thumbnail. */
  width: number;
  height: number;
  /** Size of the decoded source image (upright). */
  sourceWidth: number;
  sourceHeight: number;
}

/**
 * A JPEG thumbnail whose longest side is at most `maxPx` (never scaled up).
 * @throws DOMException when the blob is not an image; Error when there is no 2d canvas.
 */
export async function makeThumbnail(blob: Blob, maxPx = THUMBNAIL_MAX_PX): Promise<Thumbnail> {
  const bitmap = await loadImage(blob);
  try {
    const size = scaleToFit(bitmap.width, bitmap.height, maxPx);
    const canvas = document.createElement('canvas');
    canvas.width = size.width;
    canvas.height = size.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('2d canvas is not available');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, size.width, size.height);
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, size.width, size.height);
    return {
      dataUrl: canvas.toDataURL('image/jpeg', 0.7),
      width: size.width,
      height: size.height,
      sourceWidth: bitmap.width,
      sourceHeight: bitmap.height,
    };
  } finally {
    bitmap.close();
  }
}

/**
 * A photo sent without annotation, in the same shape the editor sends: re-encoded JPEG
 * (at most 2560 px, metadata such as the GPS position dropped) and a thumbnail.
 * @throws DOMException when the blob is not an image; Error when there is no 2d canvas.
 */
export async function preparePhoto(blob: Blob): Promise<AnnotatedPhoto> {
  const bitmap = await loadImage(blob);
  try {
    return await exportAnnotated(bitmap, bitmap.width, bitmap.height, []);
  } finally {
    bitmap.close();
  }
}
