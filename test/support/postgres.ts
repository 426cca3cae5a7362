/**
 * A PostgreSQL fixture for one test file: a pool on the given URL, opened before the file's tests, and fresh
 * schemas with random names, every one dropped (and the pool ended) when the file ends. Call it inside the
 * `describe` that `postgresOrSkip` gates.
 *
 * @example
 * ```ts
 * const pg = postgresFixture(url)
 * const store = new PostgresMessageStore({ pool: pg.pool, schema: pg.schema() })
 * ```
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';

export interface PostgresFixture {
  /** The file's pool (available from `beforeAll` on). */
  readonly pool: Pool;
  /** A fresh schema name, dropped when the file ends. */
  schema(): string;
  /** The schema `schema()` gave last. */
  readonly lastSchema: string;
}

export function postgresFixture(url: string | undefined): PostgresFixture {
  let pool: Pool | undefined;
  const schemas: string[] = [];
  beforeAll(() => {
    pool = new Pool({ connectionString: url, max: 10 });
  });
  afterAll(async () => {
    for (const schema of schemas) await pool?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool?.end();
  });
  return {
    get pool(): Pool {
      if (pool === undefined) throw new Error('the PostgreSQL pool opens in beforeAll');
      return pool;
    },
    schema(): string {
      const schema = `chat_room_test_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      return schema;
    },
    get lastSchema(): string {
      return schemas[schemas.length - 1] ?? '';
    },
  };
}
