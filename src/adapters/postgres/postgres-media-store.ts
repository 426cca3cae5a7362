import type { Pool } from 'pg';
import type { ImageMime, MediaInfo } from '../../domain';
import {
  ChatRoomError,
  ConflictError,
  NotFoundError,
  StorageError,
  ValidationError,
  requireMediaId,
  requirePositiveInt,
  requireThreadId,
  requireTime,
} from '../../domain';
import type { MediaStore, StoredMedia } from '../../ports';
import { quoteIdent } from './migrations';
import { migrateOnce, requireSchemaName } from './shared';

/** Options of the PostgreSQL media store. */
export interface PostgresMediaStoreOptions {
  /** A ready pool, owned by the caller: `close()` leaves it open. */
  readonly pool: Pool;
  /** The schema holding the tables (created when missing); it may be the other stores'. Default: `public`. */
  readonly schema?: string;
}

/** A `media` row without its bytes. */
interface InfoRow {
  readonly id: string;
  readonly owner_id: string;
  readonly mime_type: string;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly thumbnail_id: string | null;
  readonly created_at: number;
}

const INFO_COLUMNS = 'id, owner_id, mime_type, size, width, height, thumbnail_id, created_at';

/**
 * A `MediaStore` on PostgreSQL: photos and thumbnails are shared by every server process using the same schema,
 * so a photo uploaded through one node is served by any other. Behaves like `InMemoryMediaStore` (the conformance
 * suite checks it).
 *
 * Each image is one row of `media`: its facts in columns, its bytes in a `bytea` column that only `get` reads,
 * and a `linked` flag set by its first link, under a partial index that makes `unlinked()` read only the uploads
 * never sent. The threads are rows of `media_links`, in the order of an identity column, removed with their
 * image by a foreign key. Every write is one statement in its own transaction, so it is whole and durable when
 * the promise resolves; the primary key makes the first `put` of an id win, even across processes.
 *
 * The tables are migration 5 of the schema `PostgresMessageStore` and `PostgresDirectoryStore` use: the three
 * stores can share a schema, and whichever starts first applies every pending migration.
 *
 * @example
 * ```ts
 * import { Pool } from 'pg'
 * import { PostgresMediaStore } from 'chat-room/postgres'
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL })
 * const media = new PostgresMediaStore({ pool, schema: 'chat' })
 * await media.start() // applies the migrations
 * await media.put({ mediaId: 'm1', ownerId: 'alice', mimeType: 'image/png', bytes: 3, width: 1, height: 1,
 *   createdAt: Date.now() }, new Uint8Array([1, 2, 3]))
 * ;(await media.get('m1'))?.bytes // Uint8Array [1, 2, 3]
 * ```
 */
export class PostgresMediaStore implements MediaStore {
  readonly #pool: Pool;
  /** The quoted schema, safe to splice into SQL. */
  readonly #s: string;
  /** Applies the migrations once (see `migrateOnce`). */
  readonly #migrate: () => Promise<void>;
  #closed = false;

  /**
   * Creates a store; nothing touches the database until `start()` or the first call.
   *
   * @param options - the pool and the schema
   * @throws ValidationError when no pool is given, or the schema name is empty or longer than 63 bytes
   */
  constructor(options: PostgresMediaStoreOptions) {
    const schema = requireSchemaName(options.schema);
    if (options.pool === undefined || options.pool === null) {
      throw new ValidationError('give PostgresMediaStore a pool', { details: { field: 'pool' } });
    }
    this.#pool = options.pool;
    this.#migrate = migrateOnce(this.#pool, schema, 'PostgresMediaStore');
    this.#s = quoteIdent(schema);
  }

  /**
   * Creates the schema when missing and applies the migrations it lacks; safe to call from several processes
   * at once (an advisory lock serialises them, shared with the other PostgreSQL stores) and more than once.
   *
   * @throws StorageError when the database cannot be reached or a migration fails
   */
  async start(): Promise<void> {
    return this.#migrate();
  }

  /** Stops using the database; never ends the pool (the caller owns it). */
  async close(): Promise<void> {
    this.#closed = true;
  }

  async put(info: MediaInfo, bytes: Uint8Array): Promise<void> {
    const id = requireMediaId(info.mediaId);
    if (!(bytes instanceof Uint8Array) || info.bytes !== bytes.byteLength) {
      throw new ValidationError(`media ${id}: info.bytes does not match the bytes given`, {
        details: { field: 'bytes' },
      });
    }
    // Copied now: the caller may reuse its buffer while the query waits for a connection.
    const data = Buffer.from(bytes);
    const inserted = await this.#query(
      `store media ${id}`,
      `INSERT INTO ${this.#s}.media (${INFO_COLUMNS}, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO NOTHING`,
      [
        id,
        info.ownerId,
        info.mimeType,
        info.bytes,
        info.width,
        info.height,
        info.thumbnailId ?? null,
        info.createdAt,
        data,
      ],
    );
    if (inserted.rowCount === 0) {
      throw new ConflictError(`media ${id} already exists`, { details: { mediaId: id } });
    }
  }

  async get(mediaId: string): Promise<StoredMedia | undefined> {
    const id = requireMediaId(mediaId);
    const { rows } = await this.#query<InfoRow & { data: Buffer }>(
      `read media ${id}`,
      `SELECT ${INFO_COLUMNS}, data FROM ${this.#s}.media WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    // The driver decodes a fresh buffer per row: handing it out shares nothing with what is stored.
    return (
      row && {
        info: toInfo(row),
        bytes: new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength),
      }
    );
  }

  async info(mediaId: string): Promise<MediaInfo | undefined> {
    const id = requireMediaId(mediaId);
    const { rows } = await this.#query<InfoRow>(
      `read media ${id}`,
      `SELECT ${INFO_COLUMNS} FROM ${this.#s}.media WHERE id = $1`,
      [id],
    );
    return rows[0] && toInfo(rows[0]);
  }

  async delete(mediaId: string): Promise<boolean> {
    const id = requireMediaId(mediaId);
    // The links go with the row (ON DELETE CASCADE), and the bytes are in it.
    const deleted = await this.#query(`delete media ${id}`, `DELETE FROM ${this.#s}.media WHERE id = $1`, [
      id,
    ]);
    return (deleted.rowCount ?? 0) > 0;
  }

  async link(mediaId: string, threadId: string): Promise<void> {
    const id = requireMediaId(mediaId);
    requireThreadId(threadId);
    // One statement: the UPDATE locks the image's row, so a concurrent delete either comes first (no row: not
    // found) or waits for the link, which its cascade then removes.
    const { rows } = await this.#query<{ found: number }>(
      `link media ${id}`,
      `WITH m AS (UPDATE ${this.#s}.media SET linked = true WHERE id = $1 RETURNING id),
            l AS (INSERT INTO ${this.#s}.media_links (media_id, thread_id) SELECT id, $2 FROM m
                  ON CONFLICT DO NOTHING)
       SELECT count(*)::int AS found FROM m`,
      [id, threadId],
    );
    if (rows[0]?.found !== 1) throw new NotFoundError(`no media ${id}`, { details: { mediaId: id } });
  }

  async threads(mediaId: string): Promise<string[]> {
    const id = requireMediaId(mediaId);
    const { rows } = await this.#query<{ thread_id: string }>(
      `read the threads of media ${id}`,
      `SELECT thread_id FROM ${this.#s}.media_links WHERE media_id = $1 ORDER BY linked_order`,
      [id],
    );
    return rows.map((r) => r.thread_id);
  }

  async unlinked(createdBefore: number, limit: number): Promise<string[]> {
    requireTime(createdBefore, 'createdBefore');
    requirePositiveInt(limit, 'limit', MAX_UNLINKED_PAGE);
    const { rows } = await this.#query<{ id: string }>(
      'list unlinked media',
      `SELECT id FROM ${this.#s}.media WHERE NOT linked AND created_at < $1 ORDER BY created_at LIMIT $2`,
      [createdBefore, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Runs one statement once the schema is migrated, wrapping driver errors in `StorageError` (the SQL stays out
   * of the message; the driver error is the cause).
   */
  async #query<R extends object = object>(
    what: string,
    sql: string,
    params: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    if (this.#closed) throw new StorageError(`PostgresMediaStore is closed: cannot ${what}`);
    try {
      await this.start();
      return await this.#pool.query<R>(sql, params);
    } catch (e) {
      if (ChatRoomError.is(e)) throw e;
      throw new StorageError(`PostgresMediaStore could not ${what}`, { cause: e });
    }
  }
}

/** The facts of a row, frozen like the in-memory store's, with no `thumbnailId` key on a thumbnail. */
function toInfo(row: InfoRow): MediaInfo {
  return Object.freeze({
    mediaId: row.id,
    ownerId: row.owner_id,
    mimeType: row.mime_type as ImageMime,
    bytes: row.size,
    width: row.width,
    height: row.height,
    ...(row.thumbnail_id === null ? {} : { thumbnailId: row.thumbnail_id }),
    createdAt: row.created_at,
  });
}

/** The most ids one `unlinked` call answers. */
const MAX_UNLINKED_PAGE = 10_000;
