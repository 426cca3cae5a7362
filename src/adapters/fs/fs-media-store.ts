import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MediaInfo } from '../../domain';
import {
  ConflictError,
  NotFoundError,
  StorageError,
  ValidationError,
  requireThreadId,
  requireMediaId,
  requirePositiveInt,
  requireTime,
} from '../../domain';
import type { MediaStore, StoredMedia } from '../../ports';

/** Options of the file-system media store. */
export interface FsMediaStoreOptions {
  /** The directory to keep media in; created when missing. */
  readonly dir: string;
}

/** The JSON file kept beside each image. */
interface MediaRecord {
  readonly version: 1;
  readonly info: MediaInfo;
  readonly threads: string[];
  /** The name of the bytes file, in the same directory. */
  readonly file: string;
}

/**
 * A `MediaStore` on the local file system: each image is a bytes file plus a JSON file beside it holding its
 * facts and threads. File names are a hash of the id (never the id itself), spread over 256 sub-directories;
 * every file is written to a temporary name, flushed and then renamed (or hard-linked, for the no-overwrite
 * first write), so a crash leaves either the whole image or nothing. One process per directory: updates are
 * serialised in memory, not across processes.
 *
 * Images linked to no thread yet also have an empty marker file in `unlinked/`, named by creation time and hash,
 * so `unlinked()` reads only those, oldest first, and never the whole store. A marker is written before its image
 * and removed after its first link or its delete; one left behind by a crash is removed when `unlinked()` meets
 * it. A directory written before markers existed is indexed once, on the first `unlinked()`.
 *
 * @example
 * ```ts
 * import { MediaService, SystemClock } from 'chat-room'
 * import { FsMediaStore } from 'chat-room/fs'
 * import { SharpImageProcessor } from 'chat-room/sharp'
 * const media = new MediaService({ store: new FsMediaStore({ dir: './data/media' }),
 *   processor: new SharpImageProcessor(), clock: new SystemClock(), newId: () => crypto.randomUUID() })
 * ```
 */
export class FsMediaStore implements MediaStore {
  readonly #dir: string;
  /** The tail of the queue of updates per media id (by hash), so a link never races a delete. */
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Where the markers of unlinked images are. */
  readonly #index: string;
  /** Indexes a directory written before markers existed, once per store. */
  #indexed: Promise<void> | undefined;

  /**
   * Creates a store over a directory.
   *
   * @param options - the directory
   */
  constructor(options: FsMediaStoreOptions) {
    if (typeof options?.dir !== 'string' || options.dir.length === 0) {
      throw new ValidationError('FsMediaStore needs a directory', { details: { field: 'dir' } });
    }
    this.#dir = options.dir;
    this.#index = join(options.dir, INDEX_DIR);
  }

  async put(info: MediaInfo, bytes: Uint8Array): Promise<void> {
    const id = requireMediaId(info.mediaId);
    if (!(bytes instanceof Uint8Array) || info.bytes !== bytes.byteLength) {
      throw new ValidationError(`media ${id}: info.bytes does not match the bytes given`, {
        details: { field: 'bytes' },
      });
    }
    await this.#serial(id, async () => {
      const { dir, json, base } = this.#paths(id);
      if ((await this.#readRecord(id)) !== undefined) throw conflict(id);
      await guard('create the media directory', () => mkdir(dir, { recursive: true }));
      const file = `${base}.${randomBytes(6).toString('hex')}.bin`;
      const data = join(dir, file);
      await writeAtomic(data, bytes);
      // The marker before the image: a crash between the two leaves a marker naming nothing, which is removed.
      const marker = this.#marker(base, info.createdAt);
      await guard('index media', async () => {
        await mkdir(this.#index, { recursive: true });
        await writeFile(marker, '');
      });
      await syncDir(this.#index);
      const record: MediaRecord = { version: 1, info: { ...info }, threads: [], file };
      const tmp = await writeTemp(dir, Buffer.from(JSON.stringify(record)));
      try {
        // A hard link never replaces an existing file: the first writer of an id wins, even across processes.
        await link(tmp, json);
      } catch (error) {
        await quietUnlink(data);
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw conflict(id);
        await quietUnlink(marker);
        throw new StorageError(`could not store media ${id}`, { cause: error });
      } finally {
        await quietUnlink(tmp);
      }
      await syncDir(dir);
    });
  }

  async get(mediaId: string): Promise<StoredMedia | undefined> {
    const id = requireMediaId(mediaId);
    const record = await this.#readRecord(id);
    if (record === undefined) return undefined;
    const bytes = await guard(
      `read media ${id}`,
      () => readFile(join(this.#paths(id).dir, record.file)),
      true,
    );
    return (
      bytes && { info: record.info, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
    );
  }

  async info(mediaId: string): Promise<MediaInfo | undefined> {
    return (await this.#readRecord(requireMediaId(mediaId)))?.info;
  }

  async delete(mediaId: string): Promise<boolean> {
    const id = requireMediaId(mediaId);
    return this.#serial(id, async () => {
      const record = await this.#readRecord(id);
      if (record === undefined) return false;
      const { dir, json } = this.#paths(id);
      // The JSON file is what makes an image exist: remove it first, then the bytes.
      await guard(`delete media ${id}`, () => unlink(json), true);
      await quietUnlink(join(dir, record.file));
      await quietUnlink(this.#marker(this.#paths(id).base, record.info.createdAt));
      return true;
    });
  }

  async link(mediaId: string, threadId: string): Promise<void> {
    const id = requireMediaId(mediaId);
    requireThreadId(threadId);
    await this.#serial(id, async () => {
      const record = await this.#readRecord(id);
      if (record === undefined) throw new NotFoundError(`no media ${id}`, { details: { mediaId: id } });
      if (record.threads.includes(threadId)) return;
      const { dir, json } = this.#paths(id);
      const next: MediaRecord = { ...record, threads: [...record.threads, threadId] };
      const tmp = await writeTemp(dir, Buffer.from(JSON.stringify(next)));
      await guard(`link media ${id}`, () => rename(tmp, json)).catch(async (error: unknown) => {
        await quietUnlink(tmp);
        throw error;
      });
      await syncDir(dir);
      // Not flushed: a marker a crash brings back names a linked image, and is removed when met.
      await quietUnlink(this.#marker(this.#paths(id).base, record.info.createdAt));
    });
  }

  async threads(mediaId: string): Promise<string[]> {
    return [...((await this.#readRecord(requireMediaId(mediaId)))?.threads ?? [])];
  }

  async unlinked(createdBefore: number, limit: number): Promise<string[]> {
    requireTime(createdBefore, 'createdBefore');
    requirePositiveInt(limit, 'limit', MAX_UNLINKED_PAGE);
    this.#indexed ??= this.#indexOldRecords();
    await this.#indexed.catch((error: unknown) => {
      this.#indexed = undefined; // try again next time
      throw error;
    });
    const names = (await guard('list unlinked media', () => readdir(this.#index), true)) ?? [];
    const ids = new Set<string>();
    // Marker names start with the creation time, zero-padded: in name order they are oldest first.
    for (const name of names.filter((n) => MARKER.test(n)).sort()) {
      if (ids.size >= limit || Number(name.slice(0, STAMP_DIGITS)) >= createdBefore) break;
      const base = name.slice(STAMP_DIGITS + 1);
      const id = await this.#serialAt(base, () => this.#checkMarker(base, name, createdBefore));
      if (id !== undefined) ids.add(id);
    }
    return [...ids];
  }

  /** The id a marker stands for when its image is unlinked and older than `createdBefore`; removes a stale one. */
  async #checkMarker(base: string, name: string, createdBefore: number): Promise<string | undefined> {
    let record: MediaRecord | undefined;
    try {
      record = await this.#recordAt(base);
    } catch {
      return undefined; // corrupt metadata: left for `get` to report, never expired blindly
    }
    if (record === undefined || record.threads.length > 0) {
      await quietUnlink(join(this.#index, name)); // a put that failed, or a link or delete a crash cut short
      return undefined;
    }
    return record.info.createdAt < createdBefore ? record.info.mediaId : undefined;
  }

  /** Writes the markers of a directory written before they existed: once, then a flag file says it is done. */
  async #indexOldRecords(): Promise<void> {
    const flag = join(this.#index, INDEXED_FLAG);
    if ((await guard('read the media index', () => readFile(flag), true)) !== undefined) return;
    const top = (await guard('list media', () => readdir(this.#dir), true)) ?? [];
    for (const sub of top.filter((n) => /^[0-9a-f]{2}$/.test(n))) {
      const files = await guard('list media', () => readdir(join(this.#dir, sub)));
      for (const file of files.filter((n) => RECORD_FILE.test(n))) {
        const base = file.slice(0, -'.json'.length);
        await this.#serialAt(base, async () => {
          const record = await this.#recordAt(base).catch(() => undefined);
          if (record === undefined || record.threads.length > 0) return;
          await guard('index media', async () => {
            await mkdir(this.#index, { recursive: true });
            await writeFile(this.#marker(base, record.info.createdAt), '');
          });
        });
      }
    }
    await guard('index media', async () => {
      await mkdir(this.#index, { recursive: true });
      await syncDir(this.#index);
      await writeFile(flag, '');
    });
  }

  /** The marker of an unlinked image: its creation time, zero-padded so names sort by it, and its hash. */
  #marker(base: string, createdAt: number): string {
    const stamp = String(Math.max(0, Math.floor(createdAt))).padStart(STAMP_DIGITS, '0');
    return join(this.#index, `${stamp}-${base}`);
  }

  /** Where an id's files live: a hash of the id, so no caller's string ever becomes a path. */
  #paths(id: string): { dir: string; json: string; base: string } {
    return this.#pathsAt(createHash('sha256').update(id).digest('hex'));
  }

  #pathsAt(base: string): { dir: string; json: string; base: string } {
    const dir = join(this.#dir, base.slice(0, 2));
    return { dir, json: join(dir, `${base}.json`), base };
  }

  async #readRecord(id: string): Promise<MediaRecord | undefined> {
    return this.#recordAt(this.#paths(id).base, id);
  }

  /** The record stored under a hash; without `id`, it must be the record of an id with that hash. */
  async #recordAt(base: string, id?: string): Promise<MediaRecord | undefined> {
    const what = id === undefined ? `media ${base.slice(0, 12)}…` : `media ${id}`;
    const text = await guard(`read ${what}`, () => readFile(this.#pathsAt(base).json, 'utf8'), true);
    if (text === undefined) return undefined;
    let record: MediaRecord;
    try {
      record = JSON.parse(text) as MediaRecord;
    } catch (error) {
      throw new StorageError(`the metadata of ${what} is corrupt`, { cause: error });
    }
    const mediaId: unknown = record.info?.mediaId;
    const owned =
      id === undefined
        ? typeof mediaId === 'string' && createHash('sha256').update(mediaId).digest('hex') === base
        : mediaId === id;
    if (record.version !== 1 || !owned || !DATA_FILE.test(String(record.file))) {
      throw new StorageError(`the metadata of ${what} is not this store's`);
    }
    return record;
  }

  /** Runs `task` after every earlier update of the same id has finished. */
  #serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    return this.#serialAt(this.#paths(id).base, task);
  }

  /** Runs `task` after every earlier update of the id with this hash has finished. */
  async #serialAt<T>(base: string, task: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(base) ?? Promise.resolve();
    const run = before.then(task, task);
    const tail = run.catch(() => undefined);
    this.#queues.set(base, tail);
    try {
      return await run;
    } finally {
      if (this.#queues.get(base) === tail) this.#queues.delete(base);
    }
  }
}

/** The folder of the markers of unlinked images (hash folders are two hex digits: no clash). */
const INDEX_DIR = 'unlinked';
/** The file that says a directory's older records were indexed. */
const INDEXED_FLAG = '.indexed';
/** Digits of the creation time in a marker's name: ms since the epoch fit until the year 318857. */
const STAMP_DIGITS = 16;
const MARKER = /^[0-9]{16}-[0-9a-f]{64}$/;
const RECORD_FILE = /^[0-9a-f]{64}\.json$/;
/** The most ids one `unlinked` call answers. */
const MAX_UNLINKED_PAGE = 10_000;

/** The bytes file named in a record: a hash and a nonce, so even a tampered record names no other path. */
const DATA_FILE = /^[0-9a-f]{64}\.[0-9a-f]{12}\.bin$/;

function conflict(id: string): ConflictError {
  return new ConflictError(`media ${id} already exists`, { details: { mediaId: id } });
}

/** Runs a file operation, wrapping failures in `StorageError`; with `missingOk`, a missing file gives undefined. */
async function guard<T>(what: string, op: () => Promise<T>, missingOk: true): Promise<T | undefined>;
async function guard<T>(what: string, op: () => Promise<T>, missingOk?: false): Promise<T>;
async function guard<T>(what: string, op: () => Promise<T>, missingOk = false): Promise<T | undefined> {
  try {
    return await op();
  } catch (error) {
    if (missingOk && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StorageError(`could not ${what}`, { cause: error });
  }
}

/** Writes bytes to a fresh temporary file in `dir`, flushed to disk, and returns its path. */
async function writeTemp(dir: string, bytes: Uint8Array): Promise<string> {
  const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
  await guard('write a media file', async () => {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }).catch(async (error: unknown) => {
    await quietUnlink(tmp);
    throw error;
  });
  return tmp;
}

/** Writes a file whole or not at all: a flushed temporary file renamed into place. */
async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = await writeTemp(dir, bytes);
  await guard('write a media file', () => rename(tmp, path)).catch(async (error: unknown) => {
    await quietUnlink(tmp);
    throw error;
  });
}

/** Flushes a directory's entries (the renames and links in it); not possible on every platform, so best effort. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open a directory; the files themselves were flushed.
  }
}

async function quietUnlink(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // already gone
  }
}
