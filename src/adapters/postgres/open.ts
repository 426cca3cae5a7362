import { Pool } from 'pg';
import { StorageError, ValidationError } from '../../domain';
import { PostgresDirectoryStore } from './postgres-directory-store';
import { PostgresMediaStore } from './postgres-media-store';
import { PostgresMessageStore } from './postgres-message-store';

/** The PostgreSQL stores on one pool, and how to close them. */
export interface PostgresStores {
  readonly store: PostgresMessageStore;
  readonly directoryStore: PostgresDirectoryStore;
  /** Photos and thumbnails, in the same schema: any server on the database serves them. */
  readonly mediaStore: PostgresMediaStore;
  /** Closes the stores and ends the pool. */
  close(): Promise<void>;
}

/**
 * Connects to PostgreSQL for everything a `ChatSystem` keeps: a pool the stores share, the message, directory
 * and media stores started (migrations applied once, under a lock, so several servers may start together).
 *
 * @param connectionString - a `postgres://` URL
 * @param options - the schema (default `public`) and the pool size (default 10)
 * @throws ValidationError when the URL is empty
 * @throws StorageError when the database cannot be reached or migrated; the pool is ended
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { openPostgresStores } from 'chat-room/postgres'
 * const { store, directoryStore, mediaStore, close } = await openPostgresStores(process.env.DATABASE_URL ?? '')
 * const chat = await ChatSystem.open({ store, directoryStore, mediaStore })
 * ```
 */
export async function openPostgresStores(
  connectionString: string,
  options: { schema?: string; poolSize?: number } = {},
): Promise<PostgresStores> {
  if (typeof connectionString !== 'string' || connectionString.length === 0) {
    throw new ValidationError('a PostgreSQL connection string is needed');
  }
  const pool = new Pool({ connectionString, max: options.poolSize ?? 10 });
  // An idle client's error (the server restarting) must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const schema = options.schema === undefined ? {} : { schema: options.schema };
  try {
    const store = new PostgresMessageStore({ pool, ...schema });
    const directoryStore = new PostgresDirectoryStore({ pool, ...schema });
    const mediaStore = new PostgresMediaStore({ pool, ...schema });
    await store.start();
    await directoryStore.start();
    await mediaStore.start();
    return {
      store,
      directoryStore,
      mediaStore,
      close: async () => {
        await store.close();
        await directoryStore.close();
        await mediaStore.close();
        await pool.end();
      },
    };
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof ValidationError || error instanceof StorageError) throw error;
    throw new StorageError('cannot connect to PostgreSQL', { cause: error });
  }
}
