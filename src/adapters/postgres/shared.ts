/**
 * What the PostgreSQL stores share: the schema name's check, one transaction on one pooled connection, and migrating once.
 *
 * @module
 */
import type { Pool, PoolClient } from 'pg';
import { StorageError, ValidationError } from '../../domain';
import { applyMigrations } from './migrations';

/**
 * Checks a schema name (it is quoted, never interpolated raw): 1 to 63 bytes, no NUL.
 *
 * @param schema - the name, `public` when absent
 * @throws ValidationError when it is not a PostgreSQL identifier
 */
export function requireSchemaName(schema: string | undefined): string {
  const name = schema ?? 'public';
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    Buffer.byteLength(name) > 63 ||
    name.includes('\u0000')
  ) {
    throw new ValidationError('schema must be a PostgreSQL identifier of 1 to 63 bytes', {
      details: { field: 'schema' },
    });
  }
  return name;
}

/**
 * Runs a unit of work on one pooled connection inside a transaction: commits (or rolls back when `keep` says
 * the result is not to be kept), and rolls back when it throws. A connection that cannot roll back is not given
 * back to the pool.
 *
 * @param pool - the pool
 * @param begin - the statement that opens the transaction (`BEGIN`, or with an isolation level)
 * @param work - the work
 * @param keep - whether to commit the result (default: always)
 */
export async function inTransaction<T>(
  pool: Pool,
  begin: string,
  work: (c: PoolClient) => Promise<T>,
  keep: (result: T) => boolean = () => true,
): Promise<T> {
  const c = await pool.connect();
  let broken = false;
  try {
    await c.query(begin);
    const result = await work(c);
    await c.query(keep(result) ? 'COMMIT' : 'ROLLBACK');
    return result;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw e;
  } finally {
    c.release(broken);
  }
}

/**
 * Applies a schema's migrations once for a store, however many calls ask at once; a failed attempt is forgotten,
 * so a later call tries again. Several processes may migrate together: an advisory lock serialises them.
 *
 * @param pool - the pool
 * @param schema - the schema
 * @param store - the store's name, for the error
 */
export function migrateOnce(pool: Pool, schema: string, store: string): () => Promise<void> {
  let started: Promise<void> | undefined;
  return () => {
    started ??= inTransaction(pool, 'BEGIN', (c) => applyMigrations(c, schema)).catch((e: unknown) => {
      started = undefined;
      throw new StorageError(`${store} could not migrate schema ${schema}`, { cause: e });
    });
    return started;
  };
}
