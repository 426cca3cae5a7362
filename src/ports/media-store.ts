import type { MediaInfo } from '../domain';

/** One stored image: its facts and its bytes. */
export interface StoredMedia {
  readonly info: MediaInfo;
  readonly bytes: Uint8Array;
}

/**
 * Keeps image bytes and their facts, plus the threads each image was sent in — the access rule "only members of
 * a thread the photo was sent in may fetch it" needs nothing more. Ids are checked with `requireMediaId`, so a
 * store may use them as file or key names. Writes are durable when the promise resolves.
 *
 * @example
 * ```ts
 * import { InMemoryMediaStore } from 'chat-room'
 * const store = new InMemoryMediaStore()
 * await store.put({ mediaId: 'm1', ownerId: 'alice', mimeType: 'image/png', bytes: 3, width: 1, height: 1,
 *   createdAt: Date.now() }, new Uint8Array([1, 2, 3]))
 * await store.link('m1', 'dm:alice:bob')
 * await store.threads('m1') // ['dm:alice:bob']
 * await store.unlinked(Date.now(), 100) // []: m1 was sent
 * ```
 */
export interface MediaStore {
  /**
   * Stores an image under `info.mediaId`, all or nothing.
   *
   * @throws ValidationError when the id is malformed or `info.bytes` is not `bytes.byteLength`
   * @throws ConflictError when the id is taken (stored media never changes)
   * @throws StorageError when the store fails
   */
  put(info: MediaInfo, bytes: Uint8Array): Promise<void>;
  /**
   * An image's facts and bytes (a copy: changing it changes nothing stored).
   *
   * @throws ValidationError when the id is malformed
   */
  get(mediaId: string): Promise<StoredMedia | undefined>;
  /**
   * An image's facts, without reading its bytes.
   *
   * @throws ValidationError when the id is malformed
   */
  info(mediaId: string): Promise<MediaInfo | undefined>;
  /**
   * Removes an image and its links; false when there was none.
   *
   * @throws ValidationError when the id is malformed
   */
  delete(mediaId: string): Promise<boolean>;
  /**
   * Records that an image was sent in a thread; linking twice changes nothing.
   *
   * @throws ValidationError when the id is malformed or the thread id is empty
   * @throws NotFoundError when there is no such image
   */
  link(mediaId: string, threadId: string): Promise<void>;
  /**
   * The threads an image was sent in, in the order they were linked (empty for an unknown image).
   *
   * @throws ValidationError when the id is malformed
   */
  threads(mediaId: string): Promise<string[]>;
  /**
   * The ids of images linked to no thread and stored before a time (`info.createdAt < createdBefore`), oldest
   * first (ties in any order), at most `limit`: uploads never sent, which the media service expires. The answer
   * comes from what is stored, so it is the same after a restart.
   *
   * @param createdBefore - the time (ms since the epoch) an image must be older than
   * @param limit - the most ids answered, a positive integer
   * @throws ValidationError when `createdBefore` is not a number or `limit` not a positive integer
   * @throws StorageError when the store fails
   */
  unlinked(createdBefore: number, limit: number): Promise<string[]>;
}
