import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MediaInfo } from '../../domain';
import {
  ConflictError,
  NotFoundError,
  StorageError,
  ValidationError,
  requireThreadId,
  requireMediaId,
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
  /** The tail of the queue of updates per media id, so a link never races a delete. */
  readonly #queues = new Map<string, Promise<unknown>>();

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
      const record: MediaRecord = { version: 1, info: { ...info }, threads: [], file };
      const tmp = await writeTemp(dir, Buffer.from(JSON.stringify(record)));
      try {
        // A hard link never replaces an existing file: the first writer of an id wins, even across processes.
        await link(tmp, json);
      } catch (error) {
        await quietUnlink(data);
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw conflict(id);
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
    });
  }

  async threads(mediaId: string): Promise<string[]> {
    return [...((await this.#readRecord(requireMediaId(mediaId)))?.threads ?? [])];
  }

  /** Where an id's files live: a hash of the id, so no caller's string ever becomes a path. */
  #paths(id: string): { dir: string; json: string; base: string } {
    const base = createHash('sha256').update(id).digest('hex');
    const dir = join(this.#dir, base.slice(0, 2));
    return { dir, json: join(dir, `${base}.json`), base };
  }

  async #readRecord(id: string): Promise<MediaRecord | undefined> {
    const text = await guard(`read media ${id}`, () => readFile(this.#paths(id).json, 'utf8'), true);
    if (text === undefined) return undefined;
    let record: MediaRecord;
    try {
      record = JSON.parse(text) as MediaRecord;
    } catch (error) {
      throw new StorageError(`the metadata of media ${id} is corrupt`, { cause: error });
    }
    if (record.version !== 1 || record.info?.mediaId !== id || !DATA_FILE.test(String(record.file))) {
      throw new StorageError(`the metadata of media ${id} is not this store's`);
    }
    return record;
  }

  /** Runs `task` after every earlier update of the same id has finished. */
  async #serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(id) ?? Promise.resolve();
    const run = before.then(task, task);
    const tail = run.catch(() => undefined);
    this.#queues.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    }
  }
}

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
