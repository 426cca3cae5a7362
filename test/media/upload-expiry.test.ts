/**
 * Unsent uploads expire: `MediaService` deletes an upload no message refers to, with its thumbnail, once
 * `uploadTtlMs` has passed, on its clock; what was sent stays; a send racing the sweep is never lost; and expiry
 * survives a restart with the file-system store.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { MediaInfo, MediaStore, StoredMedia } from 'chat-room';
import { InMemoryMediaStore, ManualClock, MediaService, NotFoundError, ValidationError } from 'chat-room';
import { FsMediaStore } from 'chat-room/fs';
import { SharpImageProcessor } from 'chat-room/sharp';

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const processor = new SharpImageProcessor();

function png(): Promise<Buffer> {
  return sharp({ create: { width: 40, height: 20, channels: 3, background: '#3366cc' } })
    .png()
    .toBuffer();
}

function service(store: MediaStore, clock: ManualClock, uploadTtlMs?: number): MediaService {
  return new MediaService({
    store,
    processor,
    clock,
    newId: () => randomUUID(),
    ...(uploadTtlMs === undefined ? {} : { uploadTtlMs }),
  });
}

/** Lets promise callbacks and in-memory store calls run (the in-memory store does no I/O). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A store that stops in one method until released: the interleavings a real race would need luck for. */
class PausingStore implements MediaStore {
  #pause: { method: string; reached: () => void; gate: Promise<void> } | undefined;

  constructor(readonly inner: MediaStore) {}

  /** The next call of `method` stops (after the inner store answered) until `release` is called. */
  pauseAt(method: keyof MediaStore): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.#pause = { method, reached, gate };
    return { reached: arrived, release };
  }

  async #maybePause(method: string): Promise<void> {
    const pause = this.#pause;
    if (pause?.method !== method) return;
    this.#pause = undefined;
    pause.reached();
    await pause.gate;
  }

  async put(info: MediaInfo, bytes: Uint8Array): Promise<void> {
    await this.inner.put(info, bytes);
  }
  get(mediaId: string): Promise<StoredMedia | undefined> {
    return this.inner.get(mediaId);
  }
  info(mediaId: string): Promise<MediaInfo | undefined> {
    return this.inner.info(mediaId);
  }
  async delete(mediaId: string): Promise<boolean> {
    await this.#maybePause('delete');
    return this.inner.delete(mediaId);
  }
  async link(mediaId: string, threadId: string): Promise<void> {
    await this.#maybePause('link');
    await this.inner.link(mediaId, threadId);
  }
  threads(mediaId: string): Promise<string[]> {
    return this.inner.threads(mediaId);
  }
  async unlinked(createdBefore: number, limit: number): Promise<string[]> {
    const ids = await this.inner.unlinked(createdBefore, limit);
    await this.#maybePause('unlinked');
    return ids;
  }
}

describe('unsent uploads expire', () => {
  test('once uploadTtlMs has passed, an unsent upload goes with its thumbnail; a linked one stays', async () => {
    const clock = new ManualClock(T0);
    const store = new InMemoryMediaStore();
    const media = service(store, clock);
    expect(media.uploadTtlMs).toBe(HOUR); // the default
    const unsent = await media.ingest('alice', await png());
    const sent = await media.ingest('alice', await png());
    await media.link(sent.mediaId, 'dm:alice:bob');

    clock.advance(HOUR - 1);
    expect(await media.sweep()).toBe(0);
    expect(store.size).toBe(4);
    clock.advance(1);
    expect(await media.sweep()).toBe(2);
    expect(await media.info(unsent.mediaId)).toBeUndefined();
    expect(await media.info(unsent.thumbnailId!)).toBeUndefined();
    expect(await media.info(sent.mediaId)).toBeDefined();
    expect(await media.info(sent.thumbnailId!)).toBeDefined();

    clock.advance(100 * HOUR);
    expect(await media.sweep()).toBe(0); // sent media never expires
    expect(store.size).toBe(2);
    await media.close();
  });

  test('the clock runs the sweep every min(ttl, 5 min) until close()', async () => {
    const clock = new ManualClock(T0);
    const store = new InMemoryMediaStore();
    const media = service(store, clock, 12 * MINUTE);
    const first = await media.ingest('alice', await png());
    clock.advance(10 * MINUTE); // ticks at 5 and 10: not yet expired
    await settle();
    expect(await media.info(first.mediaId)).toBeDefined();
    clock.advance(5 * MINUTE); // the tick at 15
    await settle();
    expect(await media.info(first.mediaId)).toBeUndefined();
    expect(store.size).toBe(0);

    await media.close();
    const second = await media.ingest('alice', await png());
    clock.advance(10 * HOUR);
    await settle();
    expect(await media.info(second.mediaId)).toBeDefined(); // closed: nothing sweeps
    expect(clock.pending).toBe(0);
  });

  test('sending an expired upload fails with NOT_FOUND, before and after the sweep, and links nothing', async () => {
    const clock = new ManualClock(T0);
    const media = service(new InMemoryMediaStore(), clock);
    const early = await media.ingest('alice', await png());
    const late = await media.ingest('alice', await png());
    clock.advance(HOUR - 1);
    await expect(media.claim('alice', early.mediaId, 'dm:alice:bob')).resolves.toMatchObject({
      mediaId: early.mediaId,
    });
    clock.advance(1);
    const before = await media.claim('alice', late.mediaId, 'dm:alice:bob').catch((e: unknown) => e);
    expect(before).toBeInstanceOf(NotFoundError);
    expect((before as Error).message).toBe('the upload expired; upload it again');
    expect(await media.threads(late.mediaId)).toEqual([]);

    expect(await media.sweep()).toBe(2);
    const after = await media.claim('alice', late.mediaId, 'dm:alice:bob').catch((e: unknown) => e);
    expect(after).toBeInstanceOf(NotFoundError);
    expect((after as Error).message).toMatch(/expired or never existed; upload it again/);
    expect(await media.info(early.mediaId)).toBeDefined(); // sent in time: kept
    await media.close();
  });

  // The races below let the clock start the sweep (its tick at 60 min): time is moved to just before, and the
  // sweeps of the earlier ticks are let finish, so the one sweep that matters is the one paused.

  test('a send that is linking when the sweep comes is left alone, and its photo kept', async () => {
    const clock = new ManualClock(T0);
    const store = new PausingStore(new InMemoryMediaStore());
    const media = service(store, clock);
    const photo = await media.ingest('alice', await png());
    clock.advance(HOUR - 1);
    await settle();
    const linking = store.pauseAt('link');
    const claim = media.claim('alice', photo.mediaId, 'dm:alice:bob');
    await linking.reached; // checked in time, now linking
    clock.advance(1); // the tick at 60 min: the sweep
    expect(await media.sweep()).toBe(0);
    linking.release();
    await claim;
    expect(await media.threads(photo.mediaId)).toEqual(['dm:alice:bob']);
    expect(await media.sweep()).toBe(0);
    expect(await media.info(photo.thumbnailId!)).toBeDefined();
    await media.close();
  });

  test('the sweep looks at the links again just before deleting', async () => {
    const clock = new ManualClock(T0);
    const store = new PausingStore(new InMemoryMediaStore());
    const media = service(store, clock);
    const photo = await media.ingest('alice', await png());
    clock.advance(HOUR - 1);
    await settle();
    const listed = store.pauseAt('unlinked');
    clock.advance(1); // the tick at 60 min: the sweep
    const sweep = media.sweep(); // the same sweep
    await listed.reached; // the store answered the photo and its thumbnail as unlinked...
    await store.inner.link(photo.thumbnailId!, 'dm:alice:bob'); // ...then another node sent it
    await store.inner.link(photo.mediaId, 'dm:alice:bob');
    listed.release();
    expect(await sweep).toBe(0);
    expect(await media.info(photo.mediaId)).toBeDefined();
    await media.close();
  });

  test('a send while the sweep is deleting the upload fails as expired and links nothing', async () => {
    const clock = new ManualClock(T0);
    const store = new PausingStore(new InMemoryMediaStore());
    const media = service(store, clock);
    const photo = await media.ingest('alice', await png());
    clock.advance(HOUR - 1);
    await settle();
    const deleting = store.pauseAt('delete');
    clock.advance(1); // the tick at 60 min: the sweep
    const sweep = media.sweep(); // the same sweep
    await deleting.reached;
    await expect(media.claim('alice', photo.mediaId, 'dm:alice:bob')).rejects.toThrow(
      'the upload expired; upload it again',
    );
    deleting.release();
    expect(await sweep).toBe(2);
    expect(await media.info(photo.mediaId)).toBeUndefined();
    await media.close();
  });

  test('uploadTtlMs must be a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => service(new InMemoryMediaStore(), new ManualClock(T0), bad)).toThrow(ValidationError);
    }
    const error = (() => {
      try {
        service(new InMemoryMediaStore(), new ManualClock(T0), 0);
      } catch (e) {
        return e as ValidationError;
      }
    })();
    expect(error?.details).toEqual({ field: 'uploadTtlMs' });
  });
});

describe('expiry with the file-system store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chat-room-expiry-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The image files on disk. */
  async function images(): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true });
    return entries.filter((name) => name.endsWith('.bin'));
  }

  test('survives a restart: a new MediaService over the same directory expires the old upload', async () => {
    const before = service(new FsMediaStore({ dir }), new ManualClock(T0));
    const unsent = await before.ingest('alice', await png());
    const sent = await before.ingest('alice', await png());
    await before.link(sent.mediaId, 'dm:alice:bob');
    await before.close();
    expect(await images()).toHaveLength(4);

    const clock = new ManualClock(T0 + 2 * HOUR);
    const after = service(new FsMediaStore({ dir }), clock);
    clock.advance(5 * MINUTE); // its first sweep
    await after.close(); // waits for the sweep that is running
    expect(await after.info(unsent.mediaId)).toBeUndefined();
    expect(await after.info(unsent.thumbnailId!)).toBeUndefined();
    expect(await after.info(sent.mediaId)).toBeDefined();
    expect(await images()).toHaveLength(2); // the sent photo and its thumbnail
  });
});
