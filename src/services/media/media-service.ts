import type { MediaInfo, MediaLimits, MediaRef } from '../../domain';
import {
  ChatRoomError,
  DEFAULT_MEDIA_LIMITS,
  NotFoundError,
  PayloadTooLargeError,
  PermissionError,
  ValidationError,
  requireId,
  requireMediaId,
  requireObject,
  requireThreadId,
  sniffImage,
  toMediaRef,
} from '../../domain';
import type {
  CapturedImage,
  Clock,
  EncodedImage,
  ImageProcessor,
  MediaStore,
  StoredMedia,
} from '../../ports';
import type { TaskTracker } from '../../util/task-tracker';
import type { DeliveryService, SendInput, SendOptions, SendResult } from '../delivery';
import type { ConversationDirectory, UserDirectory } from '../directory';
import type { NotificationCenter } from '../notification-center';
import { DEFAULT_UPLOAD_TTL_MS, UploadExpiry } from './upload-expiry';

export { DEFAULT_UPLOAD_TTL_MS } from './upload-expiry';

/** A photo to send; exactly one of `to` and `groupId`. */
export interface SendPhotoInput {
  readonly from: string;
  readonly to?: string;
  readonly groupId?: string;
  /** The image: raw bytes, or what the camera or gallery handed over. Its type is told from the bytes. */
  readonly photo: Uint8Array | CapturedImage;
  readonly caption?: string;
  readonly clientMessageId?: string;
}

/** What the media service needs to send photos as messages and to check who may fetch them. */
export interface PhotoMessaging {
  readonly delivery: DeliveryService;
  readonly conversations: ConversationDirectory;
  readonly users: UserDirectory;
  /** Follows the sends it starts, so callers can wait for them. */
  readonly tasks: TaskTracker;
}

/** What the media service is built from. */
export interface MediaServiceOptions {
  /** Where images and thumbnails are kept. */
  readonly store: MediaStore;
  /** What reads and rewrites image bytes (`SharpImageProcessor` from `chat-room/sharp`). */
  readonly processor: ImageProcessor;
  /** Dates `createdAt`. */
  readonly clock: Clock;
  /** Makes media ids; they must pass `requireMediaId` (a UUID does). */
  readonly newId: () => string;
  /** Limits to change; the others keep {@link DEFAULT_MEDIA_LIMITS}. */
  readonly limits?: Partial<MediaLimits>;
  /** Delivery and the directory, for `sendPhoto`, `sendUploaded`, `upload` and `fetch`; without them only the pipeline works. */
  readonly messaging?: PhotoMessaging;
  /**
   * How long an upload that no message refers to is kept (ms): past it, it cannot be sent or fetched any more and
   * the sweep deletes it with its thumbnail. Media sent in a message never expires. Default one hour.
   */
  readonly uploadTtlMs?: number;
  /** The system's events: the photo of a message deleted for everyone (`message-deleted`) is erased. */
  readonly events?: NotificationCenter;
}

/**
 * Takes photos in and hands them out: untrusted bytes are checked (size, magic bytes, header pixels), made safe
 * (upright, metadata stripped, re-encoded), thumbnailed and stored; photos are linked to the threads they are
 * sent in. Given the delivery service (`messaging`), it also runs the photo workflow: a photo sent in one step
 * (`sendPhoto`), one uploaded ahead of its message (`upload`, then `sendUploaded`), and fetching by its uploader
 * and the members of a thread it was sent in only (`fetch`).
 *
 * The order of the checks is the point: the byte limit before anything is parsed, the type from the magic bytes
 * (`claimedType` is never trusted), and the pixel count from the header before a single pixel is decoded — so a
 * small file that would decode to a huge image costs microseconds, not gigabytes.
 *
 * An upload no message refers to expires after `uploadTtlMs`: its uploader may fetch it until then, nobody may
 * send it after, and a sweep on the clock (every `uploadTtlMs`, at most five minutes apart) deletes it and its
 * thumbnail (`UploadExpiry`). Which uploads are unsent is asked of the store (`MediaStore.unlinked`), so expiry
 * survives a restart. A send and the sweep never race: the sweep skips an upload being sent, and checks its links
 * again just before deleting it; `close()` stops the sweep.
 *
 * @example
 * ```ts
 * import { InMemoryMediaStore, MediaService, SystemClock } from 'chat-room'
 * import { SharpImageProcessor } from 'chat-room/sharp'
 * const media = new MediaService({ store: new InMemoryMediaStore(), processor: new SharpImageProcessor(),
 *   clock: new SystemClock(), newId: () => crypto.randomUUID() })
 * const info = await media.ingest('alice', bytes, 'image/jpeg')
 * await media.link(info.mediaId, 'dm:alice:bob')
 * const { bytes: jpeg } = await media.read(info.mediaId)
 * ```
 */
export class MediaService {
  /** The limits in force. */
  readonly limits: MediaLimits;
  readonly #store: MediaStore;
  readonly #processor: ImageProcessor;
  readonly #clock: Clock;
  readonly #newId: () => string;
  readonly #messaging: PhotoMessaging | undefined;
  readonly #expiry: UploadExpiry;

  /**
   * Creates the service, and starts the sweep of expired uploads on its clock.
   *
   * @param options - store, processor, clock, id maker, limits and how long unsent uploads are kept
   * @throws ValidationError when a limit or `uploadTtlMs` is not a positive integer
   */
  constructor(options: MediaServiceOptions) {
    this.#store = options.store;
    this.#processor = options.processor;
    this.#clock = options.clock;
    this.#newId = options.newId;
    this.#messaging = options.messaging;
    const limits = { ...DEFAULT_MEDIA_LIMITS, ...options.limits };
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new ValidationError(`limits.${name} must be a positive integer`, {
          details: { field: `limits.${name}` },
        });
      }
    }
    this.limits = Object.freeze(limits);
    const ttl = options.uploadTtlMs ?? DEFAULT_UPLOAD_TTL_MS;
    if (!Number.isSafeInteger(ttl) || ttl < 1) {
      throw new ValidationError('uploadTtlMs must be a positive integer', {
        details: { field: 'uploadTtlMs' },
      });
    }
    this.#expiry = new UploadExpiry({
      store: this.#store,
      clock: this.#clock,
      ttlMs: ttl,
      tasks: this.#messaging?.tasks,
    });
    const events = options.events;
    // A message deleted for everyone takes its photo with it: the delivery wing says so, and cannot reach us.
    events?.on('message-deleted', ({ media }) => {
      if (media !== undefined) this.#erase(media, events);
    });
  }

  /** Deletes a photo and its thumbnail from the store; a failure is published, the other file still goes. */
  #erase(media: MediaRef, events: NotificationCenter): void {
    const erasing = Promise.all(
      [media.thumbnailId, media.mediaId].map(async (mediaId) => {
        try {
          await this.#store.delete(mediaId);
        } catch (error) {
          events.publish('media-erase-failed', { mediaId, error });
        }
      }),
    );
    void (this.#messaging?.tasks.track(erasing) ?? erasing);
  }

  /** How long an unsent upload is kept (ms). */
  get uploadTtlMs(): number {
    return this.#expiry.ttlMs;
  }

  /**
   * Takes in a photo: checks it, normalises it, stores it and its thumbnail (a media of its own).
   *
   * @param ownerId - the uploading user
   * @param bytes - the file's bytes, untrusted (a `Uint8Array` or a `Buffer`)
   * @param claimedType - the type the client claims; must be a string when given, and is otherwise ignored: the
   *   type is told from the bytes, and the stored image is re-encoded in that type, so a wrong claim can do no harm
   *   (refusing it would only break clients that send `image/jpg` or `application/octet-stream`)
   * @returns the photo's info, with its `thumbnailId`
   * @throws PayloadTooLargeError when the bytes exceed `limits.maxBytes` (checked first, nothing is parsed)
   * @throws ValidationError when the bytes are empty or not a `Uint8Array`; when they are not a JPEG, PNG, WebP or
   *   GIF (SVG, HTML, anything else, whatever `claimedType` says); when the header says more than
   *   `limits.maxPixels` pixels (all frames counted; nothing is decoded); when the image is corrupt or truncated
   * @throws StorageError when the store fails, or the processor for a reason not the image's fault
   */
  async ingest(ownerId: string, bytes: Uint8Array, claimedType?: string): Promise<MediaInfo> {
    requireId(ownerId, 'ownerId');
    if (!(bytes instanceof Uint8Array)) {
      throw new ValidationError('the photo must be bytes (a Uint8Array or a Buffer)', {
        details: { field: 'bytes' },
      });
    }
    if (claimedType !== undefined && typeof claimedType !== 'string') {
      throw new ValidationError('claimedType must be a string', { details: { field: 'claimedType' } });
    }
    const { maxBytes, maxPixels, thumbnailSide } = this.limits;
    if (bytes.byteLength > maxBytes) {
      throw new PayloadTooLargeError(`the photo is ${bytes.byteLength} bytes; the limit is ${maxBytes}`, {
        details: { field: 'bytes', bytes: bytes.byteLength, maxBytes },
      });
    }
    if (bytes.byteLength === 0)
      throw new ValidationError('the photo is empty', { details: { field: 'bytes' } });

    const mimeType = sniffImage(bytes);
    if (mimeType === undefined) {
      throw new ValidationError('not a JPEG, PNG, WebP or GIF image', {
        details: {
          field: 'bytes',
          ...(claimedType === undefined ? {} : { claimedType: claimedType.slice(0, 100) }),
        },
      });
    }
    const probe = await this.#processor.probe(bytes);
    if (probe.format !== mimeType) {
      throw new ValidationError(`the bytes start like ${mimeType} but decode as ${probe.format}`, {
        details: { field: 'bytes' },
      });
    }
    const pixels = probe.width * probe.height * probe.frames;
    if (pixels > maxPixels) {
      throw new ValidationError(
        `the image is ${probe.width} × ${probe.height}${probe.frames > 1 ? ` × ${probe.frames} frames` : ''} pixels; the limit is ${maxPixels}`,
        {
          details: {
            field: 'bytes',
            width: probe.width,
            height: probe.height,
            frames: probe.frames,
            maxPixels,
          },
        },
      );
    }

    const { image, thumbnail } = await this.#processor.normalize(bytes, { maxPixels, thumbnailSide });
    const createdAt = this.#clock.now();
    const mediaId = requireMediaId(this.#newId(), 'newId()');
    const thumbnailId = requireMediaId(this.#newId(), 'newId()');
    const thumbInfo = infoOf(thumbnail, thumbnailId, ownerId, createdAt);
    const info: MediaInfo = Object.freeze(
      Object.assign({}, infoOf(image, mediaId, ownerId, createdAt), { thumbnailId }),
    );
    // The thumbnail first, so a stored photo never names a missing thumbnail.
    await this.#store.put(thumbInfo, thumbnail.bytes);
    try {
      await this.#store.put(info, image.bytes);
    } catch (error) {
      await this.#store.delete(thumbnailId).catch(() => undefined);
      throw error;
    }
    return info;
  }

  /**
   * Records that a photo was sent in a thread (its thumbnail too), so members of that thread may fetch both.
   *
   * @param mediaId - the photo
   * @param threadId - the thread
   * @throws NotFoundError when there is no such photo
   */
  async link(mediaId: string, threadId: string): Promise<void> {
    await this.#link(mediaId, threadId, () => undefined);
  }

  /**
   * Lets a photo uploaded earlier go out in a message: only its uploader may send it, and only a photo (not a
   * thumbnail). Links it to the thread and returns what the message carries, taken from the store (never from
   * the client's claims).
   *
   * @param ownerId - who sends it
   * @param mediaId - the uploaded photo
   * @param threadId - where it goes
   * @throws NotFoundError when there is no such photo: it never existed, or it expired unsent (the message says to
   *   upload it again)
   * @throws PermissionError when someone else uploaded it
   * @throws ValidationError for a thumbnail
   */
  async claim(ownerId: string, mediaId: string, threadId: string): Promise<MediaRef> {
    const check = (found: MediaInfo, threads: readonly string[]): void => {
      if (found.ownerId !== ownerId) throw new PermissionError('only its uploader may send this photo');
      if (found.thumbnailId === undefined) throw new ValidationError('a thumbnail cannot be sent as a photo');
      if (this.#expiry.isExpired(found, threads)) throw expired(mediaId);
    };
    // Swept already, it is simply missing: say what most likely happened.
    const info = await this.#link(mediaId, threadId, check, () =>
      expired(mediaId, 'no such upload: it expired or never existed; upload it again'),
    );
    return toMediaRef(info);
  }

  /**
   * Deletes the uploads no message refers to that are older than `uploadTtlMs`, with their thumbnails. The clock
   * runs it on its own; call it to sweep now. Only one sweep runs at a time: a call during one gets a promise for
   * it, and it sweeps once more before settling.
   *
   * @returns how many stored media (photos and thumbnails) were deleted
   * @throws StorageError when the store fails (what was deleted before stays deleted)
   */
  sweep(): Promise<number> {
    return this.#expiry.sweep();
  }

  /** Stops the sweep's timer and waits for a sweep that is running. */
  close(): Promise<void> {
    return this.#expiry.close();
  }

  /**
   * The threads a photo (or a thumbnail) was sent in: its members may fetch it.
   *
   * @param mediaId - the photo or thumbnail
   */
  async threads(mediaId: string): Promise<string[]> {
    return this.#store.threads(mediaId);
  }

  /**
   * A photo's (or a thumbnail's) facts.
   *
   * @param mediaId - the photo or thumbnail
   */
  async info(mediaId: string): Promise<MediaInfo | undefined> {
    return this.#store.info(mediaId);
  }

  /**
   * A photo's (or a thumbnail's) facts and bytes. No access check: check membership of one of `threads(mediaId)`.
   *
   * @param mediaId - the photo or thumbnail
   * @throws NotFoundError when there is no such media
   */
  async read(mediaId: string): Promise<StoredMedia> {
    const stored = await this.#store.get(mediaId);
    if (stored === undefined) throw notFound(mediaId);
    return stored;
  }

  /**
   * The thumbnail of a photo. No access check: check membership of one of `threads(mediaId)`.
   *
   * @param mediaId - the photo
   * @throws NotFoundError when there is no such photo, or it is itself a thumbnail
   */
  async readThumbnail(mediaId: string): Promise<StoredMedia> {
    const info = await this.#info(mediaId);
    if (info.thumbnailId === undefined) throw notFound(mediaId);
    return this.read(info.thumbnailId);
  }

  /**
   * Removes a photo and its thumbnail (to undo an `ingest` whose message could not be sent, say).
   *
   * @param mediaId - the photo
   * @returns false when there was no such media
   */
  async delete(mediaId: string): Promise<boolean> {
    const info = await this.#store.info(mediaId);
    if (info === undefined) return false;
    if (info.thumbnailId !== undefined) await this.#store.delete(info.thumbnailId);
    return this.#store.delete(mediaId);
  }

  /**
   * Sends a photo: checked (who may send where), then identified by its bytes, limited in size and pixels, made
   * safe and thumbnailed, stored, and sent as a `photo` message through the same flow and ticks as text. A retry
   * with the same `clientMessageId` stores nothing new.
   *
   * @param input - sender, `to` or `groupId`, the photo, an optional caption and idempotency key
   * @returns the send, as `DeliveryService.send` answers it
   * @throws ValidationError for a file that is not a JPEG, PNG, WebP or GIF image, or over the pixel limit
   * @throws PayloadTooLargeError over the byte limit
   * @throws NotFoundError, PermissionError as a text send would
   */
  async sendPhoto(input: SendPhotoInput): Promise<SendResult> {
    const { delivery } = this.#requireMessaging();
    const i = requireObject(input, 'photo message');
    const from = i.from as string;
    const target = targetOf(i);
    const thread = delivery.threadFor(from, target);
    if (i.clientMessageId !== undefined) {
      const earlier = await delivery.findSent(from, i.clientMessageId as string);
      if (earlier !== undefined) return { message: earlier, duplicate: true, routed: Promise.resolve() }; // a retry: stored already
    }
    const photo = i.photo as SendPhotoInput['photo'];
    const bytes = photo instanceof Uint8Array ? photo : photo?.bytes;
    const claimed = photo instanceof Uint8Array ? undefined : photo?.claimedType;
    const info = await this.ingest(from, bytes as Uint8Array, claimed);
    try {
      // Linked before the message exists, so no message ever points at a photo its members cannot fetch.
      await this.link(info.mediaId, thread.id);
      const sent = await this.#send({
        from,
        ...target,
        kind: 'photo',
        media: toMediaRef(info),
        text: (i.caption as string | undefined) ?? '',
        ...(i.clientMessageId === undefined ? {} : { clientMessageId: i.clientMessageId as string }),
      });
      if (sent.duplicate) await this.delete(info.mediaId); // a racing retry stored the first upload
      return sent;
    } catch (error) {
      await this.delete(info.mediaId);
      throw error;
    }
  }

  /**
   * Uploads a photo ahead of its message (the HTTP upload route): checked, made safe and stored as `sendPhoto`
   * does, owned by the uploader, and fetchable by the uploader alone until a photo message refers to it. Not sent
   * within `uploadTtlMs`, it expires.
   *
   * @param userId - the uploader
   * @param bytes - the image
   * @param claimedType - the type the client claims (never trusted)
   * @throws NotFoundError when the user is unknown
   * @throws ValidationError, PayloadTooLargeError as `sendPhoto`
   */
  upload(userId: string, bytes: Uint8Array, claimedType?: string): Promise<MediaInfo> {
    this.#requireMessaging().users.get(userId);
    return this.ingest(userId, bytes, claimedType);
  }

  /**
   * Sends a photo its sender uploaded earlier: only the uploader may send it, and what the message carries (type,
   * size, dimensions) comes from the store, never from the caller.
   *
   * @param input - the send, with `media.mediaId` naming the upload
   * @param options - as `DeliveryService.send` takes them
   * @throws PermissionError when the sender is not the uploader, or may not send there
   * @throws NotFoundError when there is no such upload
   */
  async sendUploaded(input: SendInput, options: SendOptions = {}): Promise<SendResult> {
    const { delivery } = this.#requireMessaging();
    const thread = delivery.threadFor(input.from, { to: input.to, groupId: input.groupId });
    const mediaId = requireMediaId(input.media?.mediaId, 'media.mediaId');
    const media = await this.claim(input.from, mediaId, thread.id);
    return this.#send({ ...input, kind: 'photo', media }, options);
  }

  /**
   * A photo's bytes (or its thumbnail's), for its uploader or a member of a thread it was sent in. An upload not
   * sent within `uploadTtlMs` is gone, for its uploader too.
   *
   * @param userId - who asks
   * @param mediaId - the photo's (or the thumbnail's) media id
   * @throws NotFoundError when there is no such photo, or it expired unsent
   * @throws PermissionError when the user neither uploaded it nor is a member of any thread it was sent in
   */
  async fetch(userId: string, mediaId: string): Promise<StoredMedia> {
    const { users, conversations } = this.#requireMessaging();
    users.get(userId);
    const threads = await this.threads(mediaId);
    const member = threads.some((threadId) => {
      try {
        conversations.requireMember(userId, conversations.thread(threadId));
        return true;
      } catch {
        return false;
      }
    });
    if (!member) {
      const info = await this.info(mediaId);
      if (info === undefined) throw notFound(mediaId);
      if (this.#expiry.isExpired(info, threads)) throw expired(mediaId);
      if (info.ownerId !== userId) {
        throw new PermissionError('only members of a conversation it was sent in may fetch this photo');
      }
    }
    return this.read(mediaId);
  }

  #send(input: SendInput, options: SendOptions = {}): Promise<SendResult> {
    const { delivery, tasks } = this.#requireMessaging();
    return tasks.track(delivery.send(input, options));
  }

  #requireMessaging(): PhotoMessaging {
    if (this.#messaging === undefined) {
      throw new ValidationError('this media service was built without delivery: give it `messaging`');
    }
    return this.#messaging;
  }

  async #info(mediaId: string): Promise<MediaInfo> {
    const info = await this.#store.info(mediaId);
    if (info === undefined) throw notFound(mediaId);
    return info;
  }

  /**
   * Links a photo and its thumbnail to a thread once `check` passes, marking both as being linked so the sweep
   * leaves them alone; one the sweep is already deleting fails as expired.
   */
  async #link(
    mediaId: string,
    threadId: string,
    check: (info: MediaInfo, threads: readonly string[]) => void,
    missing: () => NotFoundError = () => notFound(mediaId),
  ): Promise<MediaInfo> {
    requireMediaId(mediaId);
    requireThreadId(threadId);
    const held = [mediaId];
    // Kept off the sweep while linking; one the sweep is deleting already is gone.
    if (!this.#expiry.hold(mediaId)) throw expired(mediaId);
    try {
      const info = await this.#store.info(mediaId);
      if (info === undefined) throw missing();
      check(info, await this.#store.threads(mediaId));
      const thumbnailId = info.thumbnailId;
      if (thumbnailId !== undefined) {
        if (!this.#expiry.hold(thumbnailId)) throw expired(mediaId);
        held.push(thumbnailId);
        // The thumbnail first: a photo linked to a thread always has its thumbnail linked there too.
        await this.#store.link(thumbnailId, threadId).catch((error: unknown) => {
          // Swept between our look and our link: the upload is gone.
          throw ChatRoomError.is(error) && error.code === 'NOT_FOUND' ? missing() : error;
        });
      }
      await this.#store.link(mediaId, threadId);
      return info;
    } finally {
      for (const id of held) this.#expiry.release(id);
    }
  }
}

function infoOf(image: EncodedImage, mediaId: string, ownerId: string, createdAt: number): MediaInfo {
  return Object.freeze({
    mediaId,
    ownerId,
    mimeType: image.mimeType,
    bytes: image.bytes.byteLength,
    width: image.width,
    height: image.height,
    createdAt,
  });
}

function notFound(mediaId: string): NotFoundError {
  return new NotFoundError(`no media ${mediaId}`, { details: { mediaId } });
}

function expired(mediaId: string, message = 'the upload expired; upload it again'): NotFoundError {
  return new NotFoundError(message, { details: { mediaId } });
}

function targetOf(input: Record<string, unknown>): { to?: string; groupId?: string } {
  return {
    ...(input.to === undefined ? {} : { to: input.to as string }),
    ...(input.groupId === undefined ? {} : { groupId: input.groupId as string }),
  };
}
