import type { MediaInfo } from '../../domain';
import type { Clock, MediaStore, TimerHandle } from '../../ports';
import type { TaskTracker } from '../../util/task-tracker';

/** How long an unsent upload is kept by default: one hour. */
export const DEFAULT_UPLOAD_TTL_MS = 60 * 60_000;
/** The sweep runs every `ttlMs`, or every five minutes when that is shorter. */
const MAX_SWEEP_EVERY_MS = 5 * 60_000;
/** Ids asked of the store at a time by the sweep. */
const SWEEP_BATCH = 100;

/** What the expiry of unsent uploads runs on. */
export interface UploadExpiryOptions {
  readonly store: MediaStore;
  readonly clock: Clock;
  /** How long an upload no thread is linked to is kept (ms). */
  readonly ttlMs: number;
  /** Follows the sweeps the clock starts, so `idle()` waits for them. */
  readonly tasks?: TaskTracker | undefined;
}

/**
 * Expires uploads that no message refers to: an upload linked to no thread and older than `ttlMs` is past its
 * time, and a sweep on the clock (every `ttlMs`, at most five minutes apart) deletes it with its thumbnail. The
 * store says which media are unlinked (`MediaStore.unlinked`), so nothing is lost across a restart.
 *
 * A send and the sweep never race. Who links media `hold`s it first, and the sweep leaves held media alone; the
 * sweep marks what it deletes, and `hold` refuses that. Both mark and test in one step, with no `await` between,
 * and the sweep looks at the links once more just before deleting (another process may have linked it).
 *
 * @example
 * ```ts
 * // inside the media wing: MediaService builds one
 * const expiry = new UploadExpiry({ store, clock, ttlMs: 3_600_000 })
 * if (!expiry.hold(mediaId)) throw new NotFoundError('the upload expired; upload it again')
 * try { await store.link(mediaId, threadId) } finally { expiry.release(mediaId) }
 * ```
 */
export class UploadExpiry {
  readonly ttlMs: number;
  readonly #store: MediaStore;
  readonly #clock: Clock;
  readonly #tasks: TaskTracker | undefined;
  #timer: TimerHandle | undefined;
  #closed = false;
  /** The sweep running, if any, and whether another was asked for meanwhile. */
  #sweep: Promise<number> | undefined;
  #again = false;
  /** Media being linked (a count per id: one upload may go to two threads at once). */
  readonly #held = new Map<string, number>();
  /** Media the sweep is deleting. */
  readonly #expiring = new Set<string>();

  /**
   * Starts the sweep on the clock.
   *
   * @param options - store, clock, time to live, and a tracker for the sweeps
   */
  constructor(options: UploadExpiryOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#tasks = options.tasks;
    this.ttlMs = options.ttlMs;
    this.#schedule();
  }

  /**
   * Whether an upload is past its time: linked to no thread, and stored `ttlMs` ago or more.
   *
   * @param info - the upload's facts
   * @param threads - the threads it is linked to
   */
  isExpired(info: MediaInfo, threads: readonly string[]): boolean {
    return threads.length === 0 && this.#clock.now() - info.createdAt >= this.ttlMs;
  }

  /**
   * Keeps the sweep off media about to be linked, until `release`.
   *
   * @param mediaId - the photo or thumbnail
   * @returns false (and holds nothing) when the sweep is deleting it already
   */
  hold(mediaId: string): boolean {
    if (this.#expiring.has(mediaId)) return false;
    this.#held.set(mediaId, (this.#held.get(mediaId) ?? 0) + 1);
    return true;
  }

  /**
   * Ends one `hold`.
   *
   * @param mediaId - the photo or thumbnail
   */
  release(mediaId: string): void {
    const count = (this.#held.get(mediaId) ?? 1) - 1;
    if (count > 0) this.#held.set(mediaId, count);
    else this.#held.delete(mediaId);
  }

  /**
   * Deletes expired unsent uploads with their thumbnails. One sweep runs at a time: a call during one gets a
   * promise for it, and it sweeps once more before settling.
   *
   * @returns how many stored media (photos and thumbnails) were deleted
   * @throws StorageError when the store fails (what was deleted before stays deleted)
   */
  sweep(): Promise<number> {
    if (this.#sweep !== undefined) {
      this.#again = true;
      return this.#sweep;
    }
    const run = async (): Promise<number> => {
      let deleted = 0;
      do {
        this.#again = false;
        deleted += await this.#sweepOnce();
      } while (this.#again && !this.#closed);
      return deleted;
    };
    const sweep = run().finally(() => {
      this.#sweep = undefined;
    });
    this.#sweep = sweep;
    return sweep;
  }

  /** Stops the clock's sweeps and waits for one that is running. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#sweep?.catch(() => undefined);
  }

  #schedule(): void {
    if (this.#closed) return;
    const every = Math.min(this.ttlMs, MAX_SWEEP_EVERY_MS);
    this.#timer = this.#clock.setTimeout(() => {
      this.#schedule();
      const sweep = this.sweep();
      this.#tasks?.track(sweep);
      sweep.catch(() => undefined); // a store that failed is tried again on the next tick
    }, every);
  }

  /** One pass: asks the store for expired unsent media, a batch at a time, and deletes each that still is. */
  async #sweepOnce(): Promise<number> {
    // Expired when `now - createdAt >= ttl`, that is `createdAt < now - ttl + 1`.
    const createdBefore = this.#clock.now() - this.ttlMs + 1;
    if (createdBefore <= 0) return 0;
    let deleted = 0;
    for (;;) {
      const ids = await this.#store.unlinked(createdBefore, SWEEP_BATCH);
      let progress = 0;
      for (const id of ids) progress += await this.#expire(id);
      deleted += progress;
      // A full batch of media being sent right now would come back again: stop rather than spin.
      if (ids.length < SWEEP_BATCH || progress === 0) return deleted;
    }
  }

  /** Deletes one expired upload (a photo with its thumbnail, or a thumbnail left alone) unless it is held. */
  async #expire(mediaId: string): Promise<number> {
    if (this.#held.has(mediaId) || this.#expiring.has(mediaId)) return 0;
    const marked = [mediaId];
    this.#expiring.add(mediaId);
    try {
      const info = await this.#store.info(mediaId);
      if (info === undefined) return 0;
      const thumbnailId = info.thumbnailId;
      if (thumbnailId !== undefined) {
        // Only who holds this photo holds its thumbnail, and nobody holds this photo now.
        this.#expiring.add(thumbnailId);
        marked.push(thumbnailId);
      }
      // Looked at again just before deleting: a send may have linked it since the store listed it.
      if ((await this.#store.threads(mediaId)).length > 0) return 0;
      let deleted = 0;
      if (thumbnailId !== undefined && (await this.#store.delete(thumbnailId))) deleted++;
      if (await this.#store.delete(mediaId)) deleted++;
      return deleted;
    } finally {
      for (const id of marked) this.#expiring.delete(id);
    }
  }
}
