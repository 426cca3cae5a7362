import type { ImageMime } from '../domain';

/** What an image's header says, read without decoding its pixels. */
export interface ImageProbe {
  /** Its type, as the decoder recognises it. */
  readonly format: ImageMime;
  /** Width in pixels, as stored (before any EXIF rotation). */
  readonly width: number;
  /** Height in pixels of one frame, as stored (before any EXIF rotation). */
  readonly height: number;
  /** How many frames it has (1 unless it is an animated GIF or WebP). */
  readonly frames: number;
}

/** An encoded image produced by the processor. */
export interface EncodedImage {
  readonly bytes: Uint8Array;
  /** Width in pixels, as displayed. */
  readonly width: number;
  /** Height in pixels of one frame, as displayed. */
  readonly height: number;
  readonly mimeType: ImageMime;
}

/** How to normalise an image. */
export interface NormalizeOptions {
  /** The most pixels the image may decode to, all frames counted; checked from the header before decoding. */
  readonly maxPixels: number;
  /** The longest side of the thumbnail; smaller images are not enlarged. */
  readonly thumbnailSide: number;
}

/** A normalised image and its thumbnail. */
export interface NormalizedImage {
  /** Upright (EXIF orientation applied), without any metadata, re-encoded (see the adapter for the type). */
  readonly image: EncodedImage;
  /** A still of the first frame, longest side at most `thumbnailSide`, without metadata. */
  readonly thumbnail: EncodedImage;
}

/**
 * Reads and rewrites untrusted image bytes. Callers sniff the type first (`sniffImage`) and check the probed
 * size against their pixel limit before asking for `normalize`; an implementation still refuses anything but
 * JPEG, PNG, WebP and GIF and enforces `maxPixels` itself.
 *
 * @example
 * ```ts
 * import { SharpImageProcessor } from 'chat-room/sharp'
 * const processor = new SharpImageProcessor()
 * const { width, height } = await processor.probe(bytes)
 * const { image, thumbnail } = await processor.normalize(bytes, { maxPixels: 40_000_000, thumbnailSide: 320 })
 * ```
 */
export interface ImageProcessor {
  /**
   * Reads an image's header: type, dimensions and frame count, without decoding the pixels.
   *
   * @throws ValidationError when the bytes are not a readable JPEG, PNG, WebP or GIF
   */
  probe(bytes: Uint8Array): Promise<ImageProbe>;
  /**
   * Decodes an image, applies its EXIF orientation, drops every piece of metadata (EXIF with GPS, XMP, IPTC,
   * comments), re-encodes it and makes a thumbnail.
   *
   * @throws ValidationError when the image is corrupt, of another type, or over `maxPixels`
   * @throws StorageError when processing fails for a reason that is not the image's fault (out of memory)
   */
  normalize(bytes: Uint8Array, options: NormalizeOptions): Promise<NormalizedImage>;
}
