/// <reference types="jest" />
/**
 * The conformance suite of the `MediaStore` port: every media store (in-memory, file system, a third party's)
 * runs it. Bytes are opaque to a store, so the suite needs no real images.
 *
 * @module
 */
import type { MediaInfo } from '../domain';
import type { MediaStore } from '../ports';
import { ChatRoomError, ConflictError, NotFoundError, ValidationError } from '../domain';

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);

function info(mediaId: string, bytes: Uint8Array, extra: Partial<MediaInfo> = {}): MediaInfo {
  return {
    mediaId,
    ownerId: 'alice',
    mimeType: 'image/png',
    bytes: bytes.byteLength,
    width: 4,
    height: 3,
    thumbnailId: `${mediaId}-thumb`,
    createdAt: T0,
    ...extra,
  };
}

/** Bytes with every value 0-255, then a pseudo-random tail: a store that mangles binary data shows it. */
function payload(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    out[i] = i < 256 ? i : x >>> 24;
  }
  return out;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (ChatRoomError.is(error)) return error.code;
    throw error;
  }
  return 'resolved';
}

/**
 * Registers the `MediaStore` conformance tests for one adapter.
 *
 * @param name - the adapter's name, shown in the test titles
 * @param make - makes a fresh, empty store, with an optional `close`
 */
export function mediaStoreSuite(
  name: string,
  make: () => Promise<{ store: MediaStore; close?: () => Promise<void> }>,
): void {
  describe(`MediaStore conformance: ${name}`, () => {
    let store: MediaStore;
    let close: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, close } = await make());
    });
    afterEach(async () => {
      await close?.();
    });

    test('an unknown id has no media, no info, no threads, and nothing to delete', async () => {
      expect(await store.get('nothing')).toBeUndefined();
      expect(await store.info('nothing')).toBeUndefined();
      expect(await store.threads('nothing')).toEqual([]);
      expect(await store.delete('nothing')).toBe(false);
    });

    test('media reads back as stored, byte for byte', async () => {
      const bytes = payload(300_000);
      await store.put(info('m1', bytes), bytes);
      const got = await store.get('m1');
      expect(got?.info).toEqual(info('m1', bytes));
      expect(got?.bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(got!.bytes).equals(Buffer.from(bytes))).toBe(true);
      expect(await store.info('m1')).toEqual(info('m1', bytes));
    });

    test('a thumbnail (no thumbnailId) and empty-free infos keep exactly their fields', async () => {
      const bytes = payload(10);
      const thumb: MediaInfo = {
        mediaId: 't1',
        ownerId: 'bob',
        mimeType: 'image/gif',
        bytes: 10,
        width: 1,
        height: 2,
        createdAt: T0,
      };
      await store.put(thumb, bytes);
      expect(await store.info('t1')).toEqual(thumb);
      expect(Object.keys((await store.info('t1'))!)).not.toContain('thumbnailId');
    });

    test('an id is stored once: a second put is a ConflictError and changes nothing', async () => {
      const first = payload(100, 1);
      const second = payload(100, 2);
      await store.put(info('m1', first), first);
      await expect(store.put(info('m1', second, { ownerId: 'mallory' }), second)).rejects.toBeInstanceOf(
        ConflictError,
      );
      const got = await store.get('m1');
      expect(got?.info.ownerId).toBe('alice');
      expect(Buffer.from(got!.bytes).equals(Buffer.from(first))).toBe(true);
    });

    test('concurrent puts of one id store exactly one of them', async () => {
      const tries = [1, 2, 3, 4, 5].map((seed) => payload(1000, seed));
      const results = await Promise.allSettled(
        tries.map((b, i) => store.put(info('m1', b, { width: i + 1 }), b)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const won = results.findIndex((r) => r.status === 'fulfilled');
      const got = await store.get('m1');
      expect(got?.info.width).toBe(won + 1);
      expect(Buffer.from(got!.bytes).equals(Buffer.from(tries[won]!))).toBe(true);
    });

    test('ids differing only in case are different media', async () => {
      const a = payload(50, 1);
      const b = payload(50, 2);
      await store.put(info('Photo1', a), a);
      await store.put(info('photo1', b), b);
      expect(Buffer.from((await store.get('Photo1'))!.bytes).equals(Buffer.from(a))).toBe(true);
      expect(Buffer.from((await store.get('photo1'))!.bytes).equals(Buffer.from(b))).toBe(true);
    });

    test('a size in the info that is not the size of the bytes is a ValidationError', async () => {
      const bytes = payload(10);
      await expect(store.put(info('m1', bytes, { bytes: 11 }), bytes)).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect(await store.get('m1')).toBeUndefined();
    });

    test.each([
      '../escape',
      '..',
      'a/b',
      'a\\b',
      '.hidden',
      '',
      ' m1',
      'm1\n',
      'x'.repeat(129),
      'dm:a:b',
      'C:',
    ])('the malformed id %j is a ValidationError everywhere, and nothing is written', async (bad) => {
      const bytes = payload(10);
      expect(await codeOf(store.put(info(bad, bytes), bytes))).toBe('VALIDATION');
      expect(await codeOf(store.get(bad))).toBe('VALIDATION');
      expect(await codeOf(store.info(bad))).toBe('VALIDATION');
      expect(await codeOf(store.delete(bad))).toBe('VALIDATION');
      expect(await codeOf(store.link(bad, 'dm:a:b'))).toBe('VALIDATION');
      expect(await codeOf(store.threads(bad))).toBe('VALIDATION');
    });

    test('changing the bytes given, or the bytes read back, changes nothing stored', async () => {
      const bytes = payload(64);
      const keep = Uint8Array.from(bytes);
      await store.put(info('m1', bytes), bytes);
      bytes.fill(0);
      const read = await store.get('m1');
      read!.bytes.fill(7);
      try {
        (read!.info as { width: number }).width = 999;
      } catch {
        // frozen: fine
      }
      const again = await store.get('m1');
      expect(Buffer.from(again!.bytes).equals(Buffer.from(keep))).toBe(true);
      expect(again?.info.width).toBe(4);
    });

    test('links record the threads in order, once each', async () => {
      const bytes = payload(10);
      await store.put(info('m1', bytes), bytes);
      await store.link('m1', 'dm:alice:bob');
      await store.link('m1', 'group-42');
      await store.link('m1', 'dm:alice:bob');
      expect(await store.threads('m1')).toEqual(['dm:alice:bob', 'group-42']);
      const threads = await store.threads('m1');
      threads.push('tampered');
      expect(await store.threads('m1')).toEqual(['dm:alice:bob', 'group-42']);
    });

    test('concurrent links are all recorded', async () => {
      const bytes = payload(10);
      await store.put(info('m1', bytes), bytes);
      const threads = Array.from({ length: 20 }, (_, i) => `group-${i}`);
      await Promise.all(threads.map((t) => store.link('m1', t)));
      expect((await store.threads('m1')).sort()).toEqual([...threads].sort());
    });

    test('linking unknown media is a NotFoundError; a malformed thread id a ValidationError', async () => {
      await expect(store.link('nothing', 'dm:a:b')).rejects.toBeInstanceOf(NotFoundError);
      const bytes = payload(10);
      await store.put(info('m1', bytes), bytes);
      await expect(store.link('m1', '')).rejects.toBeInstanceOf(ValidationError);
      await expect(store.link('m1', 'a/../b')).rejects.toBeInstanceOf(ValidationError);
      expect(await store.threads('m1')).toEqual([]);
    });

    test('delete removes the bytes, the info and the links; the id may then be used again', async () => {
      const bytes = payload(10);
      await store.put(info('m1', bytes), bytes);
      await store.link('m1', 'dm:alice:bob');
      expect(await store.delete('m1')).toBe(true);
      expect(await store.get('m1')).toBeUndefined();
      expect(await store.info('m1')).toBeUndefined();
      expect(await store.threads('m1')).toEqual([]);
      expect(await store.delete('m1')).toBe(false);
      await store.put(info('m1', bytes), bytes);
      expect(await store.threads('m1')).toEqual([]);
    });

    test('unlinked answers media sent nowhere and created before the time, oldest first, at most limit', async () => {
      const bytes = payload(10);
      // Stored out of order, so an answer in insertion order shows.
      for (const [id, minutes] of [
        ['m3', 3],
        ['m1', 1],
        ['m4', 4],
        ['m2', 2],
        ['t1', 1.5],
      ] as const) {
        await store.put(info(id, bytes, { createdAt: T0 + minutes * 60_000 }), bytes);
      }
      await store.link('m2', 'dm:alice:bob');
      expect(await store.unlinked(T0 + 10 * 60_000, 100)).toEqual(['m1', 't1', 'm3', 'm4']);
      expect(await store.unlinked(T0 + 3 * 60_000, 100)).toEqual(['m1', 't1']); // created at the time: not before
      expect(await store.unlinked(T0 + 10 * 60_000, 2)).toEqual(['m1', 't1']);
      expect(await store.unlinked(T0, 100)).toEqual([]);
    });

    test('a link or a delete takes media off the unlinked list; a put puts it on', async () => {
      const bytes = payload(10);
      await store.put(info('m1', bytes), bytes);
      await store.put(info('m2', bytes, { createdAt: T0 + 1 }), bytes);
      expect(await store.unlinked(T0 + 10, 10)).toEqual(['m1', 'm2']);
      await store.link('m1', 'group-42');
      expect(await store.unlinked(T0 + 10, 10)).toEqual(['m2']);
      await store.delete('m2');
      expect(await store.unlinked(T0 + 10, 10)).toEqual([]);
      await store.put(info('m2', bytes), bytes);
      expect(await store.unlinked(T0 + 10, 10)).toEqual(['m2']);
      await store.delete('m1');
      expect(await store.unlinked(T0 + 10, 10)).toEqual(['m2']);
    });

    test('unlinked refuses a limit that is not a positive integer, or a time that is not a number', async () => {
      expect(await codeOf(store.unlinked(T0, 0))).toBe('VALIDATION');
      expect(await codeOf(store.unlinked(T0, 1.5))).toBe('VALIDATION');
      expect(await codeOf(store.unlinked(Number.NaN, 10))).toBe('VALIDATION');
    });

    test('deleting one media leaves the others alone', async () => {
      const a = payload(10, 1);
      const b = payload(10, 2);
      await store.put(info('m1', a), a);
      await store.put(info('m2', b), b);
      await store.delete('m1');
      expect(Buffer.from((await store.get('m2'))!.bytes).equals(Buffer.from(b))).toBe(true);
    });
  });
}
