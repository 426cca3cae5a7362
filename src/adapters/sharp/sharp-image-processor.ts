import sharp from 'sharp';
import type { ImageMime } from '../../domain';
import { StorageError, ValidationError, sniffImage } from '../../domain';
import type {
  EncodedImage,
  ImageProbe,
  ImageProcessor,
  NormalizedImage,
  NormalizeOptions,
} from '../../ports';
import { DecodeQueue } from './decode-queue';

/** Options of the sharp image processor. */
export interface SharpImageProcessorOptions {
  /**
   * How much damage in the pixel data makes an image refused (sharp's `failOn`). The default, `error`, refuses
   * truncated and undecodable images but accepts the recoverable glitches ("corrupt JPEG data: extraneous
   * bytes") that some phone firmwares write into every photo; `warning` refuses those too.
   */
  readonly failOn?: 'none' | 'truncated' | 'error' | 'warning';
  /** JPEG and WebP quality, 1–100 (default 85). */
  readonly quality?: number;
  /**
   * Images this processor decodes at once (default 2). Decoding is what costs memory and CPU: each image decodes
   * to width × height × channels bytes, and libvips already spreads one image over every core. The others wait
   * their turn, in arrival order. Share one processor between the systems of a process to bound the process.
   */
  readonly maxConcurrent?: number;
  /**
   * Images that may wait for a turn (default 64); one more is refused at once with a `RateLimitError` whose
   * `details.retryAfterMs` says when to try again (the HTTP route answers 429 with `Retry-After`).
   */
  readonly maxQueued?: number;
}

type Format = 'jpeg' | 'png' | 'webp' | 'gif';

const MIME_OF: Readonly<Record<Format, ImageMime>> = Object.freeze({
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
});

const CAN_WRITE_GIF = sharp.format.gif?.output?.buffer === true;

/** What a header said, with the orientation the adapter needs besides the port's probe. */
interface Header extends ImageProbe {
  readonly orientation: number;
}

/**
 * An `ImageProcessor` on sharp (libvips). It reads headers with `metadata()`, which decodes no pixels; it
 * decodes with `limitInputPixels` set to the caller's pixel limit (all frames counted) so libvips refuses a
 * decompression bomb on its own too; it applies the EXIF orientation with `rotate()`; and it writes no metadata
 * (sharp keeps none unless asked), so EXIF with GPS, XMP, IPTC and text chunks are gone. The image keeps its
 * type and its animation (a GIF becomes a WebP only with a libvips that cannot write GIF; the prebuilt sharp
 * binaries can); an animated image with an EXIF orientation becomes a still of its first frame, because libvips
 * cannot rotate several frames. Thumbnails are stills of the first frame, of the same type as the image.
 * At most `maxConcurrent` images are decoded at once (default 2); up to `maxQueued` more wait their turn in
 * order, and past that `normalize` refuses with a `RateLimitError`. Reading a header (`probe`) never waits.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { SharpImageProcessor } from 'chat-room/sharp'
 * const processor = new SharpImageProcessor({ failOn: 'error', maxConcurrent: 2 })
 * const { image, thumbnail } = await processor.normalize(bytes, { maxPixels: 40_000_000, thumbnailSide: 320 })
 * ```
 */
export class SharpImageProcessor implements ImageProcessor {
  readonly #failOn: 'none' | 'truncated' | 'error' | 'warning';
  readonly #quality: number;
  readonly #queue: DecodeQueue;

  /**
   * Creates a processor.
   *
   * @param options - how strict decoding is, the lossy quality, and how many images decode at once
   * @throws ValidationError when `quality` is not 1–100, or `maxConcurrent` or `maxQueued` not a positive integer
   */
  constructor(options: SharpImageProcessorOptions = {}) {
    this.#failOn = options.failOn ?? 'error';
    const quality = options.quality ?? 85;
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
      throw new ValidationError('quality must be an integer from 1 to 100', {
        details: { field: 'quality' },
      });
    }
    this.#quality = quality;
    this.#queue = new DecodeQueue({
      maxConcurrent: options.maxConcurrent ?? 2,
      maxQueued: options.maxQueued ?? 64,
    });
  }

  async probe(bytes: Uint8Array): Promise<ImageProbe> {
    const { format, width, height, frames } = await this.#header(bytes);
    return Object.freeze({ format, width, height, frames });
  }

  /**
   * Decodes, turns upright, strips and re-encodes an image and makes its thumbnail, when a decoding place is free.
   *
   * @throws RateLimitError (`details.retryAfterMs`) at once when `maxQueued` images already wait
   * @throws ValidationError, StorageError as the port says
   */
  async normalize(bytes: Uint8Array, options: NormalizeOptions): Promise<NormalizedImage> {
    const { maxPixels, thumbnailSide } = options;
    if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) {
      throw new ValidationError('maxPixels must be a positive integer', { details: { field: 'maxPixels' } });
    }
    if (!Number.isSafeInteger(thumbnailSide) || thumbnailSide < 1) {
      throw new ValidationError('thumbnailSide must be a positive integer', {
        details: { field: 'thumbnailSide' },
      });
    }
    return this.#queue.run(() => this.#normalize(bytes, maxPixels, thumbnailSide));
  }

  async #normalize(bytes: Uint8Array, maxPixels: number, thumbnailSide: number): Promise<NormalizedImage> {
    const header = await this.#header(bytes);
    const pixels = header.width * header.height * header.frames;
    if (pixels > maxPixels) {
      throw new ValidationError(
        `the image is ${header.width} × ${header.height}${header.frames > 1 ? ` × ${header.frames} frames` : ''}; the limit is ${maxPixels} pixels`,
        { details: { width: header.width, height: header.height, frames: header.frames, maxPixels } },
      );
    }
    const input = toBuffer(bytes);
    // Prebuilt sharp writes GIF (libvips with cgif); a libvips built without it gets an animated WebP instead.
    const format = header.format === 'image/gif' && !CAN_WRITE_GIF ? 'webp' : formatOf(header.format);
    // libvips cannot rotate several frames: an animation that needs turning becomes a still of its first frame.
    const animated = header.frames > 1 && header.orientation === 1;
    const image = await this.#encode(
      sharp(input, { failOn: this.#failOn, limitInputPixels: maxPixels, animated }).rotate(),
      format,
    );
    const thumbnail = await this.#encode(
      sharp(input, { failOn: this.#failOn, limitInputPixels: maxPixels, animated: false })
        .rotate()
        .resize({ width: thumbnailSide, height: thumbnailSide, fit: 'inside', withoutEnlargement: true }),
      format,
    );
    return Object.freeze({ image, thumbnail });
  }

  async #header(bytes: Uint8Array): Promise<Header> {
    if (!(bytes instanceof Uint8Array)) {
      throw new ValidationError('image bytes must be a Uint8Array', { details: { field: 'bytes' } });
    }
    // Refuse what the magic bytes do not name before libvips sees it: it would happily parse SVG, TIFF, PDF...
    const sniffed = sniffImage(bytes);
    if (sniffed === undefined) throw notAnImage();
    let meta: sharp.Metadata;
    try {
      // Headers only; no pixel limit here, so the caller learns the real size of a bomb and refuses it itself.
      meta = await sharp(toBuffer(bytes), { limitInputPixels: false }).metadata();
    } catch (error) {
      throw new ValidationError('the image header cannot be read', { cause: error });
    }
    const format = meta.format as string;
    if (!isFormat(format) || MIME_OF[format] !== sniffed) throw notAnImage();
    const { width, height } = meta;
    if (!(width > 0 && height > 0)) throw new ValidationError('the image has no size');
    return {
      format: MIME_OF[format],
      width,
      height,
      frames: Math.max(1, meta.pages ?? 1),
      orientation: meta.orientation ?? 1,
    };
  }

  async #encode(pipeline: sharp.Sharp, format: Format): Promise<EncodedImage> {
    const quality = this.#quality;
    const encoder =
      format === 'jpeg'
        ? pipeline.jpeg({ quality })
        : format === 'webp'
          ? pipeline.webp({ quality })
          : format === 'png'
            ? pipeline.png()
            : pipeline.gif();
    let out: { data: Buffer; info: sharp.OutputInfo };
    try {
      out = await encoder.toBuffer({ resolveWithObject: true });
    } catch (error) {
      throw wrap(error);
    }
    const { data, info } = out;
    return Object.freeze({
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.pageHeight ?? info.height,
      mimeType: MIME_OF[format],
    });
  }
}

function isFormat(value: string): value is Format {
  return value === 'jpeg' || value === 'png' || value === 'webp' || value === 'gif';
}

function formatOf(mime: ImageMime): Format {
  return mime === 'image/jpeg'
    ? 'jpeg'
    : mime === 'image/png'
      ? 'png'
      : mime === 'image/webp'
        ? 'webp'
        : 'gif';
}

function notAnImage(): ValidationError {
  return new ValidationError('not a JPEG, PNG, WebP or GIF image', { details: { field: 'bytes' } });
}

/** A Buffer over the same memory (sharp takes Uint8Array too, but a Buffer works with every sharp ≥ 0.33). */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const RESOURCE_FAILURE = /out of memory|cannot allocate|memory allocation|ENOMEM|thread pool|timeout/i;

/**
 * The image's fault (corrupt, truncated, over the pixel limit) is a `ValidationError`; running out of resources
 * is a `StorageError`, which a client may retry. libvips words its errors freely (a truncated PNG reads "unable to
 * write to target"), so anything not clearly about resources counts as a bad image.
 */
function wrap(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (RESOURCE_FAILURE.test(message))
    return new StorageError('the image could not be processed', { cause: error });
  if (/pixel limit/i.test(message)) {
    return new ValidationError('the image has more pixels than allowed', { cause: error });
  }
  return new ValidationError('the image is corrupt or truncated', { cause: error });
}
