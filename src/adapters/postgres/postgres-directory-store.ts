import type { Pool, PoolClient } from 'pg';
import type { DirectThreadRecord, FeedRecord, GroupRecord, SettingsRecord, UserRecord } from '../../domain';
import { ChatRoomError, StorageError, ValidationError, requireDirectoryBatch } from '../../domain';
import type { DirectoryBatch, DirectorySnapshot, DirectoryStore } from '../../ports';
import { quoteIdent } from './migrations';
import { inTransaction, migrateOnce, requireSchemaName } from './shared';

/** Options of the PostgreSQL directory store. */
export interface PostgresDirectoryStoreOptions {
  /** A ready pool, owned by the caller: `close()` leaves it open. */
  readonly pool: Pool;
  /** The schema holding the tables (created when missing); it may be the message store's. Default: `public`. */
  readonly schema?: string;
}

/** The five record kinds, each in its own table. */
const KINDS = ['users', 'groups', 'settings', 'threads', 'feeds'] as const;
type Kind = (typeof KINDS)[number];

/**
 * A `DirectoryStore` on PostgreSQL: users, groups, settings, direct threads and chat-list choices survive
 * restarts and are shared by every server process using the same schema. Behaves like `InMemoryDirectoryStore` (the conformance suite
 * checks it).
 *
 * Each record is one `jsonb` row in its kind's table (`directory_users`, `directory_groups`,
 * `directory_settings`, `directory_threads`, `directory_feeds`), keyed by its id. The load order is `saved_order`, an identity
 * column set when a record is first inserted; replacing a record is an upsert that changes only `record`, so it
 * keeps its place. A `save` is one transaction on one connection, and saves take a per-schema advisory lock so
 * that two batches naming the same records never deadlock. A `load` reads the five tables in one
 * `REPEATABLE READ` transaction, so it never sees half a batch.
 *
 * The tables are migrations 2 and 3 of the schema `PostgresMessageStore` uses: both stores can share a schema, and
 * whichever starts first applies every pending migration.
 *
 * @example
 * ```ts
 * import { Pool } from 'pg'
 * import { PostgresDirectoryStore } from 'chat-room/postgres'
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL })
 * const directory = new PostgresDirectoryStore({ pool, schema: 'chat' })
 * await directory.start() // applies the migrations
 * await directory.save({ users: [{ id: 'alice', name: 'Alice', contacts: [], blocked: [], pushDevices: [] }] })
 * ;(await directory.load()).users[0]?.name // 'Alice'
 * ```
 */
export class PostgresDirectoryStore implements DirectoryStore {
  readonly #pool: Pool;
  readonly #schema: string;
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
  constructor(options: PostgresDirectoryStoreOptions) {
    const schema = requireSchemaName(options.schema);
    if (options.pool === undefined || options.pool === null) {
      throw new ValidationError('give PostgresDirectoryStore a pool', { details: { field: 'pool' } });
    }
    this.#pool = options.pool;
    this.#schema = schema;
    this.#migrate = migrateOnce(this.#pool, schema, 'PostgresDirectoryStore');
    this.#s = quoteIdent(schema);
  }

  /**
   * Creates the schema when missing and applies the migrations it lacks; safe to call from several processes
   * at once (an advisory lock serialises them, shared with `PostgresMessageStore`) and more than once.
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

  async save(batch: DirectoryBatch): Promise<void> {
    const checked = requireDirectoryBatch(batch); // throws before anything is written
    const rows: Record<Kind, { ids: string[]; records: string[] }> = {
      users: pack(checked.users, (r) => r.id),
      groups: pack(checked.groups, (r) => r.id),
      settings: pack(checked.settings, (r) => r.userId),
      threads: pack(checked.threads, (r) => r.id),
      feeds: pack(checked.feeds, (r) => r.userId),
    };
    if (KINDS.every((kind) => rows[kind].ids.length === 0)) {
      await this.#run('save a batch', () => this.start());
      return;
    }
    await this.#run('save a batch', () =>
      this.#transaction('BEGIN', async (c) => {
        // One save at a time per schema: batches upserting the same ids in different orders cannot deadlock.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`chat-room:directory:${this.#schema}`]);
        for (const kind of KINDS) {
          const { ids, records } = rows[kind];
          if (ids.length === 0) continue;
          // WITH ORDINALITY + ORDER BY: new records take their identity values in the order the batch gives.
          await c.query(
            `INSERT INTO ${this.#s}.directory_${kind} (id, record)
             SELECT t.id, t.record FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS t(id, record, n)
             ORDER BY t.n
             ON CONFLICT (id) DO UPDATE SET record = excluded.record`,
            [ids, records],
          );
        }
      }),
    );
  }

  async load(): Promise<DirectorySnapshot> {
    return this.#run('load the directory', () =>
      this.#transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (c) => {
        const read = async <T>(kind: Kind): Promise<T[]> => {
          const result = await c.query<{ record: T }>(
            `SELECT record FROM ${this.#s}.directory_${kind} ORDER BY saved_order`,
          );
          return result.rows.map((r) => deepFreeze(r.record));
        };
        return {
          users: await read<UserRecord>('users'),
          groups: await read<GroupRecord>('groups'),
          settings: await read<SettingsRecord>('settings'),
          threads: await read<DirectThreadRecord>('threads'),
          feeds: await read<FeedRecord>('feeds'),
        };
      }),
    );
  }

  /** Runs a unit of work in one transaction (see `inTransaction`), once the schema is migrated. */
  async #transaction<T>(begin: string, work: (c: PoolClient) => Promise<T>): Promise<T> {
    await this.start();
    return inTransaction(this.#pool, begin, work);
  }

  /** Wraps driver errors in `StorageError` (the SQL stays out of the message; the driver error is the cause). */
  async #run<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StorageError(`PostgresDirectoryStore is closed: cannot ${what}`);
    try {
      return await work();
    } catch (e) {
      if (ChatRoomError.is(e)) throw e;
      throw new StorageError(`PostgresDirectoryStore could not ${what}`, { cause: e });
    }
  }
}

/** The ids and JSON texts of a checked list, in the batch's order. */
function pack<T>(records: readonly T[], key: (r: T) => string): { ids: string[]; records: string[] } {
  return { ids: records.map(key), records: records.map((r) => JSON.stringify(r)) };
}

/** Freezes a record read back and everything in it, like the frozen records the in-memory store returns. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
