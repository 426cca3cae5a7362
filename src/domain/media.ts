/**
 * Photos as the domain sees them: the four image types accepted (recognised by their bytes, never by a name or a
 * claimed type), the facts kept about a stored photo, what a photo message carries, and the limits.
 *
 * @module
 */
import { ValidationError } from './errors';

/** The image types a photo may have; anything else (SVG, HTML, TIFF, HEIC, ...) is refused. */
export type ImageMime = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif';

/** The four accepted image types, in a fixed order. */
export const IMAGE_MIMES: readonly ImageMime[] = Object.freeze([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
] as const);

/**
 * Tells an image's type from its first bytes (its magic number) alone.
 *
 * @param bytes - the file's bytes (the first 12 are enough)
 * @returns the type, or `undefined` when the bytes are not a JPEG, PNG, WebP or GIF — whatever the file is called
 *
 * @example
 * ```ts
 * import { sniffImage } from 'chat-room'
 * sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])) // 'image/jpeg'
 * sniffImage(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>')) // undefined
 * ```
 */
export function sniffImage(bytes: Uint8Array): ImageMime | undefined {
  const at = (offset: number, ...expected: number[]): boolean =>
    bytes.length >= offset + expected.length && expected.every((b, i) => bytes[offset + i] === b);
  const ascii = (offset: number, text: string): boolean =>
    at(offset, ...Array.from(text, (c) => c.charCodeAt(0)));

  if (at(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'image/gif';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'image/webp';
  return undefined;
}

/**
 * Tells whether a value is one of the four accepted image types.
 *
 * @param value - anything
 */
export function isImageMime(value: unknown): value is ImageMime {
  return typeof value === 'string' && (IMAGE_MIMES as readonly string[]).includes(value);
}

/** The facts kept about one stored image (a photo or its thumbnail). */
export interface MediaInfo {
  /** Unique id (see {@link requireMediaId}). */
  readonly mediaId: string;
  /** The user who uploaded it. */
  readonly ownerId: string;
  /** Its type, as recognised from the stored bytes. */
  readonly mimeType: ImageMime;
  /** Its size in bytes, as stored (after normalisation). */
  readonly bytes: number;
  /** Its width in pixels, as displayed (after auto-rotation). */
  readonly width: number;
  /** Its height in pixels (of one frame, for an animation), as displayed. */
  readonly height: number;
  /** The id of its thumbnail; absent on a thumbnail itself. */
  readonly thumbnailId?: string;
  /** When it was stored (ms since the epoch, from the injected clock). */
  readonly createdAt: number;
}

/** What a photo message carries: a reference to the stored media, never the bytes. */
export interface MediaRef {
  readonly mediaId: string;
  readonly mimeType: ImageMime;
  /** Size in bytes. */
  readonly bytes: number;
  readonly width: number;
  readonly height: number;
  /** The media id of the thumbnail (longest side {@link MediaLimits.thumbnailSide}). */
  readonly thumbnailId: string;
}

/** The limits a photo must keep to. */
export interface MediaLimits {
  /** The largest upload, in bytes (default 16 MiB). */
  readonly maxBytes: number;
  /** The most pixels an image may decode to, all frames counted (default 40 million). */
  readonly maxPixels: number;
  /** The longest side of a thumbnail, in pixels (default 320). */
  readonly thumbnailSide: number;
}

/** The default {@link MediaLimits}: 16 MiB, 40 megapixels, 320 px thumbnails. */
export const DEFAULT_MEDIA_LIMITS: MediaLimits = Object.freeze({
  maxBytes: 16 * 1024 * 1024,
  maxPixels: 40_000_000,
  thumbnailSide: 320,
});

const MEDIA_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/**
 * Checks a media id: 1–128 letters, digits, `_` and `-`, starting with a letter or digit (a UUID fits). Ids this
 * narrow are safe as file names on every platform, so stores never have to trust a caller's path.
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @throws ValidationError when the value is not such an id
 */
export function requireMediaId(value: unknown, field = 'mediaId'): string {
  if (typeof value !== 'string' || !MEDIA_ID_PATTERN.test(value)) {
    throw new ValidationError(
      `${field} must be 1-128 letters, digits, _ or - (starting with a letter or digit)`,
      {
        details: { field },
      },
    );
  }
  return value;
}

/**
 * The reference a photo message carries for a stored photo.
 *
 * @param info - the photo's info, as returned by `MediaService.ingest`
 * @throws ValidationError when `info` is a thumbnail (it has no thumbnail of its own)
 *
 * @example
 * ```ts
 * import { toMediaRef } from 'chat-room'
 * const info = await media.ingest('alice', bytes)
 * const ref = toMediaRef(info) // { mediaId, mimeType, bytes, width, height, thumbnailId }
 * ```
 */
export function toMediaRef(info: MediaInfo): MediaRef {
  if (info.thumbnailId === undefined) {
    throw new ValidationError(`media ${info.mediaId} is a thumbnail, not a photo`, {
      details: { field: 'mediaId' },
    });
  }
  return Object.freeze({
    mediaId: info.mediaId,
    mimeType: info.mimeType,
    bytes: info.bytes,
    width: info.width,
    height: info.height,
    thumbnailId: info.thumbnailId,
  });
}

/**
 * A frozen copy of a media reference, built field by field (not `Object.freeze({ ...ref })`; see `frozenReceipt`).
 *
 * @param ref - the reference to copy
 */
export function frozenMediaRef(ref: MediaRef): MediaRef {
  return Object.freeze({
    mediaId: ref.mediaId,
    mimeType: ref.mimeType,
    bytes: ref.bytes,
    width: ref.width,
    height: ref.height,
    thumbnailId: ref.thumbnailId,
  });
}

/**
 * Checks a media reference received from outside (a frame, a stored row) field by field.
 *
 * @param value - the value to check
 * @param field - the field's name, for the error messages
 * @throws ValidationError when a field is missing or malformed
 */
export function parseMediaRef(value: unknown, field = 'media'): MediaRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${field} must be an object`, { details: { field } });
  }
  const v = value as Record<string, unknown>;
  const count = (name: string): number => {
    const n = v[name];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
      throw new ValidationError(`${field}.${name} must be a positive integer`, {
        details: { field: `${field}.${name}` },
      });
    }
    return n;
  };
  if (!isImageMime(v.mimeType)) {
    throw new ValidationError(`${field}.mimeType must be one of ${IMAGE_MIMES.join(', ')}`, {
      details: { field: `${field}.mimeType` },
    });
  }
  return Object.freeze({
    mediaId: requireMediaId(v.mediaId, `${field}.mediaId`),
    mimeType: v.mimeType,
    bytes: count('bytes'),
    width: count('width'),
    height: count('height'),
    thumbnailId: requireMediaId(v.thumbnailId, `${field}.thumbnailId`),
  });
}
