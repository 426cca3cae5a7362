/**
 * The sharp processor decodes at most `maxConcurrent` images at once: the others wait their turn in arrival order,
 * and past `maxQueued` waiting one is refused at once with a RateLimitError that says when to retry.
 */
import sharp from 'sharp';
import { RateLimitError, ValidationError } from 'chat-room';
import { SharpImageProcessor } from 'chat-room/sharp';

const OPTIONS = { maxPixels: 40_000_000, thumbnailSide: 320 };

/** A PNG big enough that decoding it takes a while (the refusal must come while the first still decodes). */
function bigPng(): Promise<Buffer> {
  return sharp({ create: { width: 2000, height: 1500, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
}

test('past maxConcurrent images wait in order; past maxQueued waiting, one is refused at once', async () => {
  const processor = new SharpImageProcessor({ maxConcurrent: 1, maxQueued: 2 });
  const png = await bigPng();
  const done: number[] = [];
  // Started in one go: the first decodes, the next two wait, the fourth finds the queue full.
  const runs = [1, 2, 3].map((n) => processor.normalize(png, OPTIONS).then(() => done.push(n)));
  const refused = await processor.normalize(png, OPTIONS).catch((e: unknown) => e);
  expect(done).toEqual([]); // refused before the first had finished
  expect(refused).toBeInstanceOf(RateLimitError);
  expect((refused as RateLimitError).message).toBe('2 images already wait to be decoded; try again later');
  expect((refused as RateLimitError).details.retryAfterMs).toBeGreaterThanOrEqual(1_000);

  await Promise.all(runs);
  expect(done).toEqual([1, 2, 3]); // one at a time, first come first served
  // The places were given back: the next image goes through.
  await expect(processor.normalize(png, OPTIONS)).resolves.toMatchObject({ image: { width: 2000 } });
});

test('a failed decode gives its place back', async () => {
  const processor = new SharpImageProcessor({ maxConcurrent: 1, maxQueued: 1 });
  const png = await bigPng();
  const truncated = png.subarray(0, png.length - 200);
  const results = await Promise.allSettled([
    processor.normalize(truncated, OPTIONS),
    processor.normalize(png, OPTIONS),
  ]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
  expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
  await expect(processor.normalize(png, OPTIONS)).resolves.toBeDefined();
});

test('maxConcurrent and maxQueued must be positive integers', () => {
  for (const options of [{ maxConcurrent: 0 }, { maxQueued: -1 }, { maxConcurrent: 1.5 }]) {
    expect(() => new SharpImageProcessor(options)).toThrow(ValidationError);
  }
});
