import type { MediaInfo } from '../../domain';
import {
  ConflictError,
  NotFoundError,
  ValidationError,
  requireMediaId,
  requirePositiveInt,
  requireThreadId,
  requireTime,
} from '../../domain';
import type { MediaStore, StoredMedia } from '../../ports';

interface Entry {
  readonly info: MediaInfo;
  readonly bytes: Uint8Array;
  readonly threads: string[];
}

/**
 * The reference `MediaStore`: images in a map, copied in and out so no caller can change what is stored.
 *
 * @example
 * ```ts
 * import { InMemoryMediaStore, MediaService, SystemClock } from 'chat-room'
 * import { SharpImageProcessor } from 'chat-room/sharp'
 * const media = new MediaService({ store: new InMemoryMediaStore(), processor: new SharpImageProcessor(),
 *   clock: new SystemClock(), newId: () => crypto.randomUUID() })
 * ```
 */
export class InMemoryMediaStore implements MediaStore {
  readonly #entries = new Map<string, Entry>();

  /** How many media (photos and thumbnails) are stored. */
  get size(): number {
    return this.#entries.size;
  }

  async put(info: MediaInfo, bytes: Uint8Array): Promise<void> {
    const id = requireMediaId(info.mediaId);
    if (!(bytes instanceof Uint8Array) || info.bytes !== bytes.byteLength) {
      throw new ValidationError(`media ${id}: info.bytes does not match the bytes given`, {
        details: { field: 'bytes' },
      });
    }
    if (this.#entries.has(id))
      throw new ConflictError(`media ${id} already exists`, { details: { mediaId: id } });
    this.#entries.set(id, {
      info: Object.freeze(Object.assign({}, info)),
      bytes: Uint8Array.from(bytes),
      threads: [],
    });
  }

  async get(mediaId: string): Promise<StoredMedia | undefined> {
    const entry = this.#entries.get(requireMediaId(mediaId));
    return entry && { info: entry.info, bytes: Uint8Array.from(entry.bytes) };
  }

  async info(mediaId: string): Promise<MediaInfo | undefined> {
    return this.#entries.get(requireMediaId(mediaId))?.info;
  }

  async delete(mediaId: string): Promise<boolean> {
    return this.#entries.delete(requireMediaId(mediaId));
  }

  async link(mediaId: string, threadId: string): Promise<void> {
    const id = requireMediaId(mediaId);
    requireThreadId(threadId);
    const entry = this.#entries.get(id);
    if (entry === undefined) throw new NotFoundError(`no media ${id}`, { details: { mediaId: id } });
    if (!entry.threads.includes(threadId)) entry.threads.push(threadId);
  }

  async threads(mediaId: string): Promise<string[]> {
    return [...(this.#entries.get(requireMediaId(mediaId))?.threads ?? [])];
  }

  async unlinked(createdBefore: number, limit: number): Promise<string[]> {
    requireTime(createdBefore, 'createdBefore');
    requirePositiveInt(limit, 'limit', MAX_UNLINKED_PAGE);
    return [...this.#entries.values()]
      .filter((entry) => entry.threads.length === 0 && entry.info.createdAt < createdBefore)
      .sort((a, b) => a.info.createdAt - b.info.createdAt)
      .slice(0, limit)
      .map((entry) => entry.info.mediaId);
  }
}

/** The most ids one `unlinked` call answers. */
const MAX_UNLINKED_PAGE = 10_000;
