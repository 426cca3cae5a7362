/**
 * MediaService with the sharp processor on real images the tests make themselves: the photo comes back upright
 * and without its GPS position, bombs and disguised files are refused before anything is decoded.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { ImageProcessor, MediaInfo } from 'chat-room';
import {
  InMemoryMediaStore,
  ManualClock,
  MediaService,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
  parseMediaRef,
  sniffImage,
  toMediaRef,
} from 'chat-room';
import { SharpImageProcessor } from 'chat-room/sharp';

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);

// ---------------------------------------------------------------------------------------------------------------
// Image makers and inspectors (no EXIF library: the few bytes that matter are read by hand)
// ---------------------------------------------------------------------------------------------------------------

/** A W × H RGB image whose left half is red and right half blue, so a rotation shows in the pixels. */
function halves(width: number, height: number): sharp.Sharp {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw[(y * width + x) * 3 + (x < width / 2 ? 0 : 2)] = 255;
  }
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

/** A JPEG shot sideways (EXIF orientation 6), with a GPS position, a camera make and XMP carrying the place too. */
async function phonePhoto(): Promise<Buffer> {
  return halves(400, 200)
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExifMerge({
      IFD0: { Make: 'TestPhone', Model: 'Sideways 6' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 2976/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 17/1 4020/100',
      },
    })
    .withXmp(
      '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
        '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.496N"/>' +
        '</rdf:RDF></x:xmpmeta>',
    )
    .toBuffer();
}

/** The tags of the first IFD of a raw EXIF block (as sharp's `metadata().exif` gives it). */
function ifd0Tags(exif: Buffer): number[] {
  const tiff = exif.subarray(exif.indexOf('Exif\0\0') + 6);
  const le = tiff.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number): number => (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o));
  const u32 = (o: number): number => (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o));
  const ifd = u32(4);
  return Array.from({ length: u16(ifd) }, (_, i) => u16(ifd + 2 + i * 12));
}
const GPS_IFD_POINTER = 0x8825;

/** The JPEG segment markers before the image data (APP1 = 0xe1 holds EXIF and XMP, APP13 = 0xed IPTC). */
function jpegMarkers(jpeg: Uint8Array): number[] {
  const markers: number[] = [];
  for (let at = 2; at + 4 <= jpeg.length && jpeg[at] === 0xff;) {
    const marker = jpeg[at + 1]!;
    markers.push(marker);
    if (marker === 0xda) break; // start of scan
    at += 2 + ((jpeg[at + 2]! << 8) | jpeg[at + 3]!);
  }
  return markers;
}

async function pixel(image: Uint8Array, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}

const isRed = ([r, g, b]: number[]): boolean => r! > 200 && g! < 60 && b! < 60;
const isBlue = ([r, g, b]: number[]): boolean => r! < 60 && g! < 60 && b! > 200;

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid PNG whose IHDR says `side` × `side` RGB pixels, holding one compressed row: a decompression bomb. */
function pngBomb(side: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(side * 3 + 1))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An animated GIF of `frames` frames, each `width` × `height`. */
async function animatedGif(frames: number, width: number, height: number): Promise<Buffer> {
  const pages = await Promise.all(
    Array.from({ length: frames }, (_, i) =>
      sharp({ create: { width, height, channels: 4, background: { r: 25 * i, g: 100, b: 0, alpha: 1 } } })
        .png()
        .toBuffer(),
    ),
  );
  return sharp(pages, { join: { animated: true } })
    .gif()
    .toBuffer();
}

// ---------------------------------------------------------------------------------------------------------------

function setup(limits: ConstructorParameters<typeof MediaService>[0]['limits'] = {}) {
  const store = new InMemoryMediaStore();
  const processor = new SharpImageProcessor();
  let n = 0;
  const media = new MediaService({
    store,
    processor,
    clock: new ManualClock(T0),
    newId: () => `media-${++n}`,
    limits,
  });
  return { media, store, processor };
}

/** A processor that records whether `normalize` (the decoding step) was reached. */
function watched(inner: ImageProcessor): ImageProcessor & { normalized: number } {
  const watcher = {
    normalized: 0,
    probe: (bytes: Uint8Array) => inner.probe(bytes),
    normalize: (bytes: Uint8Array, options: Parameters<ImageProcessor['normalize']>[1]) => {
      watcher.normalized++;
      return inner.normalize(bytes, options);
    },
  };
  return watcher;
}

beforeAll(async () => {
  // Load libvips once, so no test's timing pays for it.
  await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .png()
    .toBuffer();
});

describe('MediaService.ingest with SharpImageProcessor', () => {
  test('a sideways JPEG with GPS comes back upright, without EXIF, GPS or XMP', async () => {
    const original = await phonePhoto();
    // The test image really carries what must go: orientation 6, a GPS IFD, XMP.
    const before = await sharp(original).metadata();
    expect([before.width, before.height, before.orientation]).toEqual([400, 200, 6]);
    expect(ifd0Tags(before.exif!)).toContain(GPS_IFD_POINTER);
    expect(before.xmp).toBeDefined();

    const { media } = setup();
    const info = await media.ingest('alice', original, 'image/jpeg');
    expect(info).toEqual({
      mediaId: 'media-1',
      ownerId: 'alice',
      mimeType: 'image/jpeg',
      bytes: expect.any(Number),
      width: 200,
      height: 400,
      thumbnailId: 'media-2',
      createdAt: T0,
    });

    const { bytes } = await media.read(info.mediaId);
    expect(info.bytes).toBe(bytes.byteLength);
    const after = await sharp(bytes).metadata();
    expect([after.format, after.width, after.height]).toEqual(['jpeg', 200, 400]);
    expect(after.orientation).toBeUndefined();
    expect(after.exif).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(after.iptc).toBeUndefined();
    expect(jpegMarkers(bytes)).not.toContain(0xe1); // no APP1 segment at all: no EXIF, no XMP
    expect(jpegMarkers(bytes)).not.toContain(0xed);
    const text = Buffer.from(bytes).toString('latin1');
    expect(text).not.toMatch(/Exif|TestPhone|GPS|xmpmeta/);

    // Orientation 6 turns the image a quarter clockwise: the red left half is now on top.
    expect(isRed(await pixel(bytes, 100, 10))).toBe(true);
    expect(isBlue(await pixel(bytes, 100, 390))).toBe(true);
  });

  test('the thumbnail is a media of its own: upright, metadata-free, longest side 320', async () => {
    const { media } = setup();
    const big = await halves(1000, 600).png().toBuffer();
    const info = await media.ingest('alice', big);
    const thumb = await media.readThumbnail(info.mediaId);
    expect(thumb.info).toMatchObject({
      mediaId: info.thumbnailId,
      mimeType: 'image/png',
      width: 320,
      height: 192,
    });
    expect(thumb.info.thumbnailId).toBeUndefined();
    expect(await sharp(thumb.bytes).metadata()).toMatchObject({ format: 'png', width: 320, height: 192 });
    expect(await media.read(info.thumbnailId!)).toEqual(thumb);

    const photo = await media.ingest('alice', await phonePhoto());
    const sideways = await media.readThumbnail(photo.mediaId);
    expect([sideways.info.width, sideways.info.height]).toEqual([160, 320]);
    const meta = await sharp(sideways.bytes).metadata();
    expect([meta.width, meta.height, meta.exif]).toEqual([160, 320, undefined]);
    expect(isRed(await pixel(sideways.bytes, 80, 5))).toBe(true);
  });

  test('a small image keeps its size as thumbnail (never enlarged)', async () => {
    const { media } = setup();
    const info = await media.ingest('alice', await halves(100, 40).png().toBuffer());
    expect((await media.readThumbnail(info.mediaId)).info).toMatchObject({ width: 100, height: 40 });
  });

  test('a PNG claiming 30 000 × 30 000 pixels in a few hundred bytes is refused at once, nothing decoded', async () => {
    const bomb = pngBomb(30_000);
    expect(bomb.length).toBeLessThan(1_000);
    expect(await sharp(bomb, { limitInputPixels: false }).metadata()).toMatchObject({
      width: 30_000,
      height: 30_000,
    });

    const { store } = setup();
    // failOn 'none' would let libvips grind through all 900 megapixels (seconds): only the header check is fast.
    const processor = watched(new SharpImageProcessor({ failOn: 'none' }));
    const media = new MediaService({ store, processor, clock: new ManualClock(T0), newId: () => 'bomb' });
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const error = await media.ingest('mallory', bomb, 'image/png').catch((e: unknown) => e);
    const took = performance.now() - started;
    const grew = process.memoryUsage().rss - rssBefore;

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details).toMatchObject({
      width: 30_000,
      height: 30_000,
      maxPixels: 40_000_000,
    });
    expect(took).toBeLessThan(250); // decoding 900 megapixels would take seconds, and 2.7 GB
    expect(grew).toBeLessThan(64 * 1024 * 1024);
    expect(processor.normalized).toBe(0);
    expect(await store.info('bomb')).toBeUndefined();
  });

  test('the processor refuses the bomb on its own too, without decoding it', async () => {
    const started = performance.now();
    await expect(
      new SharpImageProcessor({ failOn: 'none' }).normalize(pngBomb(30_000), {
        maxPixels: 40_000_000,
        thumbnailSide: 320,
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(performance.now() - started).toBeLessThan(250);
  });

  test('the pixel limit counts every frame of an animation', async () => {
    const gif = await animatedGif(10, 100, 100); // 100 000 pixels in all
    const { media } = setup({ maxPixels: 50_000 });
    await expect(media.ingest('alice', gif)).rejects.toMatchObject({
      code: 'VALIDATION',
      details: { width: 100, height: 100, frames: 10, maxPixels: 50_000 },
    });
  });

  test.each([
    [
      'an SVG',
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
    ],
    ['an SVG with an XML declaration', '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['an HTML page', '<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>'],
    ['plain text', 'hello'],
  ])('%s renamed .png and claimed as image/png is refused', async (_what, content) => {
    const { media, store } = setup();
    const error = await media.ingest('mallory', Buffer.from(content), 'image/png').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(/not a JPEG, PNG, WebP or GIF/);
    expect(await store.info('media-1')).toBeUndefined();
  });

  test('a truncated JPEG, and garbage behind a JPEG signature, are refused cleanly', async () => {
    const { media, store } = setup();
    const jpeg = await halves(300, 200).jpeg().toBuffer();
    for (const broken of [
      jpeg.subarray(0, Math.floor(jpeg.length / 2)),
      jpeg.subarray(0, 40),
      Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(500, 0x5a)]),
    ]) {
      await expect(media.ingest('alice', broken)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await store.info('media-1')).toBeUndefined();
  });

  test('bytes over the limit are refused with PayloadTooLargeError before anything is parsed', async () => {
    const { media } = setup();
    const huge = Buffer.alloc(16 * 1024 * 1024 + 1);
    huge.set([0xff, 0xd8, 0xff]);
    await expect(media.ingest('alice', huge)).rejects.toBeInstanceOf(PayloadTooLargeError);

    const small = setup({ maxBytes: 1_000 });
    const photo = await halves(200, 200).png().toBuffer();
    expect(photo.length).toBeGreaterThan(1_000);
    await expect(small.media.ingest('alice', photo)).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { bytes: photo.length, maxBytes: 1_000 },
    });
  });

  test('anything that is not bytes, or no bytes, is a ValidationError', async () => {
    const { media } = setup();
    await expect(media.ingest('alice', 'iVBORw0KGgo=' as unknown as Uint8Array)).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(media.ingest('alice', new Uint8Array(0))).rejects.toBeInstanceOf(ValidationError);
    await expect(media.ingest('', await halves(10, 10).png().toBuffer())).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  test('a WebP is accepted and stays a WebP', async () => {
    const { media } = setup();
    const webp = await halves(300, 100)
      .webp()
      .withExif({ IFD0: { Make: 'TestPhone' } })
      .toBuffer();
    const info = await media.ingest('alice', webp, 'application/octet-stream');
    expect(info).toMatchObject({ mimeType: 'image/webp', width: 300, height: 100 });
    const { bytes } = await media.read(info.mediaId);
    expect(sniffImage(bytes)).toBe('image/webp');
    expect((await sharp(bytes).metadata()).exif).toBeUndefined();
  });

  test('a GIF is accepted and stays a GIF; an animation keeps its frames, its thumbnail is a still', async () => {
    const { media } = setup();
    const still = await media.ingest('alice', await halves(200, 100).gif().toBuffer(), 'image/gif');
    expect(still).toMatchObject({ mimeType: 'image/gif', width: 200, height: 100 });
    expect(sniffImage((await media.read(still.mediaId)).bytes)).toBe('image/gif');

    const anim = await media.ingest('alice', await animatedGif(3, 640, 480));
    expect(anim).toMatchObject({ mimeType: 'image/gif', width: 640, height: 480 });
    expect((await sharp((await media.read(anim.mediaId)).bytes).metadata()).pages).toBe(3);
    const thumb = await media.readThumbnail(anim.mediaId);
    expect(thumb.info).toMatchObject({ mimeType: 'image/gif', width: 320, height: 240 });
    expect((await sharp(thumb.bytes).metadata()).pages ?? 1).toBe(1);
  });

  test('the claimed type never decides: a PNG claimed as JPEG is stored as the PNG it is', async () => {
    const { media } = setup();
    const info = await media.ingest('alice', await halves(20, 20).png().toBuffer(), 'image/jpeg');
    expect(info.mimeType).toBe('image/png');
  });
});

describe('MediaService links, reads and deletes', () => {
  let media: MediaService;
  let photo: MediaInfo;
  beforeEach(async () => {
    ({ media } = setup());
    photo = await media.ingest('alice', await halves(40, 20).png().toBuffer());
  });

  test('a link covers the photo and its thumbnail', async () => {
    expect(await media.threads(photo.mediaId)).toEqual([]);
    await media.link(photo.mediaId, 'dm:alice:bob');
    await media.link(photo.mediaId, 'group-1');
    expect(await media.threads(photo.mediaId)).toEqual(['dm:alice:bob', 'group-1']);
    expect(await media.threads(photo.thumbnailId!)).toEqual(['dm:alice:bob', 'group-1']);
  });

  test('unknown media is a NotFoundError to link, read and thumbnail; a malformed id a ValidationError', async () => {
    await expect(media.link('nothing', 'dm:a:b')).rejects.toBeInstanceOf(NotFoundError);
    await expect(media.read('nothing')).rejects.toBeInstanceOf(NotFoundError);
    await expect(media.readThumbnail('nothing')).rejects.toBeInstanceOf(NotFoundError);
    await expect(media.readThumbnail(photo.thumbnailId!)).rejects.toBeInstanceOf(NotFoundError);
    await expect(media.read('../../etc/passwd')).rejects.toBeInstanceOf(ValidationError);
  });

  test('delete removes the photo and its thumbnail', async () => {
    expect(await media.delete(photo.mediaId)).toBe(true);
    expect(await media.info(photo.mediaId)).toBeUndefined();
    expect(await media.info(photo.thumbnailId!)).toBeUndefined();
    expect(await media.delete(photo.mediaId)).toBe(false);
  });

  test('a photo message carries a MediaRef, which parses back from the wire', () => {
    const ref = toMediaRef(photo);
    expect(ref).toEqual({
      mediaId: photo.mediaId,
      mimeType: 'image/png',
      bytes: photo.bytes,
      width: 40,
      height: 20,
      thumbnailId: photo.thumbnailId,
    });
    expect(parseMediaRef(JSON.parse(JSON.stringify(ref)))).toEqual(ref);
    expect(() => parseMediaRef({ ...ref, mimeType: 'image/svg+xml' })).toThrow(ValidationError);
    expect(() => parseMediaRef({ ...ref, mediaId: '../x' })).toThrow(ValidationError);
    expect(() => parseMediaRef({ ...ref, width: 0 })).toThrow(ValidationError);
  });

  test('limits must be positive integers', () => {
    expect(() => setup({ maxPixels: 0 })).toThrow(ValidationError);
    expect(setup({ maxBytes: 1024 }).media.limits).toEqual({
      maxBytes: 1024,
      maxPixels: 40_000_000,
      thumbnailSide: 320,
    });
  });
});

describe('sniffImage', () => {
  test.each([
    ['image/jpeg', [0xff, 0xd8, 0xff, 0xdb]],
    ['image/png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
    ['image/gif', [...Buffer.from('GIF87a')]],
    ['image/gif', [...Buffer.from('GIF89a')]],
    ['image/webp', [...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WEBP')]],
  ])('knows %s by its first bytes', (mime, bytes) => {
    expect(sniffImage(Uint8Array.from(bytes))).toBe(mime);
  });

  test.each([
    ['empty', []],
    ['a cut PNG signature', [0x89, 0x50, 0x4e, 0x47]],
    ['a WAV (RIFF, not WEBP)', [...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WAVE')]],
    ['an SVG', [...Buffer.from('<svg')]],
    ['a BOM then an SVG', [0xef, 0xbb, 0xbf, ...Buffer.from('<svg')]],
    ['a TIFF', [0x49, 0x49, 0x2a, 0x00]],
    ['a PDF', [...Buffer.from('%PDF-1.7')]],
  ])('refuses %s', (_what, bytes) => {
    expect(sniffImage(Uint8Array.from(bytes))).toBeUndefined();
  });
});
