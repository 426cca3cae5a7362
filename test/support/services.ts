/**
 * Service checks for tests that need PostgreSQL, Redis or a browser. The project rule: read the service's URL
 * from the environment; when it is unset or unreachable, skip with a visible message; with
 * `CHAT_ROOM_REQUIRE_SERVICES=1` (CI) fail instead.
 *
 * Jest registers tests synchronously, so reachability is decided at module load with a synchronous probe: a
 * child `node` process that connects with the driver and asks something (`pg`: `SELECT 1`, which checks the URL,
 * the credentials and the database, not only that a port answers; `ioredis`: `PING`).
 *
 * @example
 * ```ts
 * import { postgresOrSkip } from '../support/services'
 * const url = postgresOrSkip('PostgresMessageStore')
 * ;(url === undefined ? describe.skip : describe)('PostgresMessageStore', () => { ... })
 * ```
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** How long the probe may take to connect before PostgreSQL counts as unreachable. */
const CONNECT_TIMEOUT_MS = 2_000;

const PROBE = `
const { Client } = require('pg');
const client = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: ${CONNECT_TIMEOUT_MS} });
client.connect()
  .then(() => client.query('SELECT 1'))
  .then(() => client.end())
  .then(() => process.exit(0), (e) => { process.stderr.write(String(e && e.message)); process.exit(1); });
`;

/** Whether services are required (CI): then a missing service fails the run instead of skipping. */
export function servicesRequired(): boolean {
  return process.env.CHAT_ROOM_REQUIRE_SERVICES === '1';
}

/**
 * Returns `DATABASE_URL` when PostgreSQL answers on it; otherwise warns and returns `undefined` (skip).
 *
 * @param what - what would be skipped, for the message
 * @throws Error when PostgreSQL is unset or unreachable and `CHAT_ROOM_REQUIRE_SERVICES=1`
 */
export function postgresOrSkip(what: string): string | undefined {
  const url = process.env.DATABASE_URL;
  const problem = url === undefined || url === '' ? 'DATABASE_URL is not set' : probe(url, PROBE);
  if (problem === undefined) return url;
  if (servicesRequired()) {
    throw new Error(`PostgreSQL is required (CHAT_ROOM_REQUIRE_SERVICES=1) for ${what}: ${problem}`);
  }
  console.warn(
    `skipping PostgreSQL tests: ${what}: ${problem}. Set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run them.`,
  );
  return undefined;
}

/** Runs a probe script once in a child process; returns why it failed, or `undefined` when it worked. */
function probe(url: string, script: string): string | undefined {
  const result = spawnSync(process.execPath, ['-e', script, url], {
    cwd: __dirname,
    encoding: 'utf8',
    timeout: CONNECT_TIMEOUT_MS + 3_000,
  });
  if (result.status === 0) return undefined;
  const host = hostOf(url);
  if (result.error !== undefined) return `could not probe ${host} (${result.error.message})`;
  const reason = result.stderr.trim().split('\n')[0] ?? '';
  return `cannot connect to ${host}${reason === '' ? '' : ` (${reason})`}`;
}

/** The host and port of a URL, never its password. */
function hostOf(url: string): string {
  try {
    const u = new URL(url);
    const port = u.port !== '' ? u.port : u.protocol.startsWith('redis') ? '6379' : '5432';
    return `${u.hostname}:${port}${u.pathname}`;
  } catch {
    return 'the URL (not a valid URL)';
  }
}

const REDIS_PROBE = `
const { Redis } = require('ioredis');
const client = new Redis(process.argv[1], {
  lazyConnect: true, connectTimeout: ${CONNECT_TIMEOUT_MS}, maxRetriesPerRequest: 0, retryStrategy: () => null,
});
let first;
client.on('error', (e) => { first = first || e; });
client.connect()
  .then(() => client.ping())
  .then(() => client.quit())
  .then(() => process.exit(0), (e) => { process.stderr.write(String((first || e).message)); process.exit(1); });
`;

/**
 * Returns `REDIS_URL` when Redis answers `PING` on it; otherwise warns and returns `undefined` (skip).
 *
 * @param what - what would be skipped, for the message
 * @throws Error when Redis is unset or unreachable and `CHAT_ROOM_REQUIRE_SERVICES=1`
 */
export function redisOrSkip(what: string): string | undefined {
  const url = process.env.REDIS_URL;
  const problem = url === undefined || url === '' ? 'REDIS_URL is not set' : probe(url, REDIS_PROBE);
  if (problem === undefined) return url;
  if (servicesRequired()) {
    throw new Error(`Redis is required (CHAT_ROOM_REQUIRE_SERVICES=1) for ${what}: ${problem}`);
  }
  console.warn(
    `skipping Redis tests: ${what}: ${problem}. Set REDIS_URL (e.g. redis://127.0.0.1:6379) to run them.`,
  );
  return undefined;
}

/**
 * Returns the `redis-server` to start private servers with (`REDIS_SERVER_PATH`, default `redis-server` on the
 * `PATH`) when it runs; otherwise warns and returns `undefined` (skip), or fails with `CHAT_ROOM_REQUIRE_SERVICES=1`.
 * For tests that kill Redis, which must never kill the shared one.
 *
 * @param what - what would be skipped, for the message
 */
export function redisServerOrSkip(what: string): string | undefined {
  const path = process.env.REDIS_SERVER_PATH ?? 'redis-server';
  const result = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 5_000 });
  if (result.status === 0) return path;
  if (servicesRequired()) {
    throw new Error(
      `redis-server is required (CHAT_ROOM_REQUIRE_SERVICES=1) for ${what}: cannot run ${path}`,
    );
  }
  console.warn(
    `skipping Redis outage tests: ${what}: cannot run ${path}. Install redis-server or set REDIS_SERVER_PATH.`,
  );
  return undefined;
}

/**
 * Returns the Chromium to drive (`CHROMIUM_PATH`, default `/usr/bin/chromium`) when it exists; otherwise warns and
 * returns `undefined` (skip), or fails with `CHAT_ROOM_REQUIRE_SERVICES=1`.
 *
 * @param what - what would be skipped, for the message
 */
export function chromiumOrSkip(what: string): string | undefined {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return path;
  if (servicesRequired()) {
    throw new Error(`Chromium is required (CHAT_ROOM_REQUIRE_SERVICES=1) for ${what}: no ${path}`);
  }
  console.warn(
    `skipping browser tests: ${what}: no Chromium at ${path}. Install it (apt-get install chromium) or set CHROMIUM_PATH.`,
  );
  return undefined;
}
