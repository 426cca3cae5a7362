/**
 * What both SQLite stores need: a handle opened (or adopted), set up and migrated, and driver errors wrapped.
 *
 * @module
 */
import Database from 'better-sqlite3';
import { StorageError, ValidationError } from '../../domain';
import { migrate } from './migrations';

/** A store's database: the handle, whether the store opened it (and so closes it), and its prepared work. */
export interface OpenedDatabase<T> {
  readonly db: Database.Database;
  readonly owned: boolean;
  readonly prepared: T;
}

/**
 * Opens the file at `path`, or adopts the handle `db`; sets WAL mode with `synchronous = FULL` (a resolved write
 * is durable), keeps temporary files such as savepoint journals in memory (`temp_store = MEMORY`: a batch in
 * which a write failed runs again with a savepoint per write, and a journal on disk cost a write per page it
 * touched), and lets the WAL grow to 10 000 pages (about 40 MB) before a checkpoint copies it back
 * (`wal_autocheckpoint`: a page that many batches rewrite is copied once); turns `secure_delete` on, so that what
 * a write replaces or deletes (a message deleted for everyone) is overwritten with zeros rather than left in free
 * space; then applies pending migrations and runs `prepare` on it. A handle it opened is closed again when any
 * of that fails.
 *
 * @param options - exactly one of `db` and `path`
 * @param store - the store's name, for messages
 * @param prepare - prepares the store's statements
 * @throws ValidationError when neither or both of `db` and `path` are given
 * @throws StorageError when the file cannot be opened or migrated
 */
export function openDatabase<T>(
  options: { readonly db?: Database.Database; readonly path?: string },
  store: string,
  prepare: (db: Database.Database) => T,
): OpenedDatabase<T> {
  if ((options.db === undefined) === (options.path === undefined)) {
    throw new ValidationError(`give ${store} exactly one of db and path`);
  }
  const owned = options.db === undefined;
  let db: Database.Database | undefined = options.db;
  try {
    db ??= new Database(options.path as string);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('temp_store = MEMORY');
    db.pragma('wal_autocheckpoint = 10000');
    db.pragma('secure_delete = ON');
    migrate(db);
    return { db, owned, prepared: prepare(db) };
  } catch (e) {
    if (owned && db?.open === true) db.close();
    throw storageError(store, 'opening the database', e);
  }
}

/** A `StorageError` that names what failed, never the SQL; the driver's error is the `cause`. */
export function storageError(store: string, doing: string, cause: unknown): StorageError {
  return new StorageError(`${store}: ${doing} failed`, { cause });
}
