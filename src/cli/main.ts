/**
 * The `chat-room` command line: `serve` runs a WebSocket chat server that keeps its data in a SQLite file (or
 * PostgreSQL, or memory), `token` prints a bearer token for a user. Not reachable from the package's entries;
 * `bin/chat-room.js` runs it.
 *
 *   npx chat-room serve [--port 8080] [--host 127.0.0.1] [--users alice,bob,carol] [--secret <s>]
 *                       [--data ./chat-room.db | --database-url postgres://... | --memory] [--media <dir>]
 *                       [--rate <frames/s>]
 *   npx chat-room token <userId> [--secret <s>] [--expires-in 1h]
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { FsMediaStore } from '../adapters/fs';
import { SharpImageProcessor } from '../adapters/sharp';
import { CachingMessageStore } from '../adapters/caching';
import { openSqliteStores } from '../adapters/sqlite';
import type * as PostgresEntry from '../adapters/postgres';
import type { ChatServer } from '../server';
import { createTokenAuth } from '../adapters/ws';
import { createChatServer } from '../server';
import type { ChatSystemDeps } from '../compose-system';
import { ChatSystem } from '../chat-system';
import { ChatRoomError } from '../domain';

/** The environment variable holding the token secret. */
export const SECRET_ENV = 'CHAT_ROOM_SECRET';

/** The secret used when none is given: public, so for development only. */
export const DEVELOPMENT_SECRET = 'chat-room-development-secret-not-for-production';

/** The issuer written into and required of every token, so tokens of another app with the same secret fail. */
export const TOKEN_ISSUER = 'chat-room';

/** Where the command line writes, and what environment it reads (the process's by default). */
export interface CliIo {
  /** A line of output (stdout). */
  out(line: string): void;
  /** A line of diagnostics (stderr). */
  err(line: string): void;
  /** The environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A running `serve`. */
export interface Serving {
  readonly server: ChatServer;
  readonly system: ChatSystem;
  /** Closes the server (sockets with 1001) and then the system. */
  close(): Promise<void>;
}

/** What `run` did: the exit code, and for `serve` the running server (left running). */
export interface RunResult {
  readonly exitCode: number;
  readonly serving?: Serving;
}

const USAGE = `Usage: chat-room <command> [options]

Commands:
  serve             run a WebSocket chat server (data in ./chat-room.db by default)
  token <userId>    print a bearer token for a user

Run "chat-room <command> --help" for a command's options.`;

const SERVE_USAGE = `Usage: chat-room serve [options]

Runs a WebSocket chat server (photos included). Messages, users, groups, settings and receipts are kept
in a SQLite file by default, so a restart carries on where it stopped.

Options:
  --port <n>          the port to listen on (default 8080; 0 picks a free one)
  --host <h>          the interface to listen on (default 127.0.0.1)
  --users <ids>       users registered at start, comma-separated (default alice,bob,carol)
  --secret <s>        the token secret, at least 32 bytes (default: $${SECRET_ENV}, else a
                      development secret); prefer the environment variable: arguments show in ps
  --data <file>       the SQLite file to keep everything in (default ./chat-room.db)
  --database-url <u>  keep everything in PostgreSQL instead (postgres://user@host:5432/db)
  --memory            keep everything in memory: gone when the server stops
  --media <dir>       where photos are kept (default: <data file>.media, or ./chat-room-media
                      with --database-url; in memory with --memory)
  --rate <n>          frames a connection may send per second; beyond that they are refused
                      with RATE_LIMITED (default 50; raise it for load tests)
  --users are registered at start unless they already exist.
  -h, --help          show this help`;

const TOKEN_USAGE = `Usage: chat-room token <userId> [options]

Prints a bearer token for a user, signed with the secret the server uses.

Options:
  --secret <s>        the token secret (default: $${SECRET_ENV}, else the development secret)
  --expires-in <t>    how long it lives: seconds, or a span such as 30m, 12h, 7d (default 1h)
  -h, --help          show this help`;

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
};

/** A usage error: the message, then exit code 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Runs the command line. `serve` resolves once the server listens and leaves it running (see `main` for signals).
 *
 * @param argv - the arguments after the program name
 * @param io - where to write and which environment to read
 * @returns the exit code, and the running server for `serve`
 */
export async function run(argv: readonly string[], io: CliIo = defaultIo): Promise<RunResult> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest, io);
      case 'token':
        return token(rest, io);
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return { exitCode: 0 };
      case undefined:
        io.err(USAGE);
        return { exitCode: 2 };
      default:
        throw new UsageError(`unknown command '${command}'\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof UsageError || isParseError(error)) {
      io.err(`chat-room: ${(error as Error).message}`);
      return { exitCode: 2 };
    }
    if (ChatRoomError.is(error)) {
      io.err(`chat-room: ${error.message}`);
      return { exitCode: 1 };
    }
    throw error;
  }
}

async function serve(args: readonly string[], io: CliIo): Promise<RunResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      users: { type: 'string', default: 'alice,bob,carol' },
      secret: { type: 'string' },
      data: { type: 'string' },
      'database-url': { type: 'string' },
      memory: { type: 'boolean' },
      media: { type: 'string' },
      rate: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    io.out(SERVE_USAGE);
    return { exitCode: 0 };
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || !Number.isSafeInteger(port) || port > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535 (got '${values.port}')`);
  }
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && (!/^\d+$/.test(values.rate ?? '') || !Number.isSafeInteger(rate) || rate < 1)) {
    throw new UsageError(`--rate must be a positive integer of frames per second (got '${values.rate}')`);
  }
  const users = values.users
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
  const secret = resolveSecret(values.secret, io);
  const tokens = createTokenAuth({ secret: secret.value, issuer: TOKEN_ISSUER });

  const storage = await openStorage(values);
  let system: ChatSystem | undefined;
  let server: ChatServer;
  try {
    system = await ChatSystem.open({ imageProcessor: new SharpImageProcessor(), ...storage.deps });
    for (const id of users) {
      if (!system.hasUser(id)) system.registerUser({ id, name: capitalize(id) });
    }
    await system.idle();
    const limits = rate === undefined ? {} : { rate: { frames: rate, perMs: 1_000 } };
    server = await createChatServer({
      system,
      auth: tokens.verify,
      port,
      host: values.host,
      ...(rate === undefined ? {} : { limits, longPollLimits: limits }),
    });
  } catch (error) {
    await system?.close();
    await storage.close();
    if (isListenError(error)) throw new UsageError(`cannot listen on ${values.host}:${port}: ${error.code}`);
    throw error;
  }
  const url = server.url.replace(/\/$/, '');
  const http = url.replace(/^ws:/, 'http:');
  const example = users[0] ?? 'alice';
  io.out(`chat-room listening on ${url}`);
  io.out(`data: ${storage.description}`);
  io.out(`users: ${users.length === 0 ? '(none)' : users.join(', ')}`);
  io.out(
    `get a token: npx chat-room token ${example}` +
      (secret.source === 'option' ? ' --secret <the same secret>' : ''),
  );
  io.out(
    `connect: ${url}/?token=<token>&deviceId=phone (or long-poll: ${http}/poll?link=<id>&deviceId=phone)`,
  );
  io.out(`photos: POST ${http}/media, GET ${http}/media/<id> (Authorization: Bearer <token>)`);
  if (secret.source === 'development' && !isLoopback(values.host)) {
    io.err(
      `chat-room: warning: listening on ${values.host} with the public development secret: anyone can sign in`,
    );
  }
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= server
      .close()
      .then(() => running.close())
      .then(() => storage.close());
    return closed;
  };
  const running = system;
  return { exitCode: 0, serving: { server, system: running, close } };
}

/** Where `serve` keeps its data, as the options chose. */
interface Storage {
  readonly deps: Partial<ChatSystemDeps>;
  readonly description: string;
  close(): Promise<void>;
}

async function openStorage(values: {
  data?: string | undefined;
  'database-url'?: string | undefined;
  memory?: boolean | undefined;
  media?: string | undefined;
}): Promise<Storage> {
  const url = values['database-url'];
  const chosen = [values.data !== undefined, url !== undefined, values.memory === true].filter(Boolean);
  if (chosen.length > 1) throw new UsageError('give at most one of --data, --database-url and --memory');
  if (values.memory === true) {
    if (values.media !== undefined) throw new UsageError('--media keeps photos on disk; drop it or --memory');
    return { deps: {}, description: 'in memory (gone when the server stops)', close: async () => undefined };
  }
  if (url !== undefined) {
    // Loaded only here: pg is an optional dependency.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openPostgresStores } = require('../adapters/postgres') as typeof PostgresEntry;
    const stores = await openPostgresStores(url);
    const media = values.media ?? './chat-room-media';
    return {
      deps: {
        store: new CachingMessageStore(stores.store),
        directoryStore: stores.directoryStore,
        mediaStore: new FsMediaStore({ dir: media }),
      },
      description: `PostgreSQL at ${redact(url)}, photos in ${media}`,
      close: stores.close,
    };
  }
  const file = values.data ?? './chat-room.db';
  const stores = openSqliteStores(file);
  const media = values.media ?? `${file}.media`;
  return {
    deps: {
      store: new CachingMessageStore(stores.store),
      directoryStore: stores.directoryStore,
      mediaStore: new FsMediaStore({ dir: media }),
    },
    description: `SQLite file ${file}, photos in ${media}`,
    close: stores.close,
  };
}

/** A database URL without its password. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(the given URL)';
  }
}

function token(args: readonly string[], io: CliIo): RunResult {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      secret: { type: 'string' },
      'expires-in': { type: 'string', default: '1h' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help === true) {
    io.out(TOKEN_USAGE);
    return { exitCode: 0 };
  }
  if (positionals.length !== 1) throw new UsageError(`token takes one user id\n\n${TOKEN_USAGE}`);
  const expires = values['expires-in'];
  const span = /^\d+$/.test(expires) ? Number(expires) : /^\d+[smhd]$/.test(expires) ? expires : undefined;
  if (span === undefined || span === 0) {
    throw new UsageError(`--expires-in must be seconds or a span such as 30m, 12h, 7d (got '${expires}')`);
  }
  const secret = resolveSecret(values.secret, io);
  const tokens = createTokenAuth({
    secret: secret.value,
    issuer: TOKEN_ISSUER,
    expiresIn: span as number | `${number}${'s' | 'm' | 'h' | 'd'}`,
  });
  io.out(tokens.sign(positionals[0] ?? ''));
  return { exitCode: 0 };
}

/** The secret to use and where it came from; warns (stderr) when falling back to the development secret. */
function resolveSecret(
  option: string | undefined,
  io: CliIo,
): { value: string; source: 'option' | 'env' | 'development' } {
  if (option !== undefined) return checked(option, '--secret', 'option');
  const env = io.env[SECRET_ENV];
  if (env !== undefined && env.length > 0) return checked(env, SECRET_ENV, 'env');
  io.err(
    `chat-room: warning: no --secret or ${SECRET_ENV}; using the public development secret (for development only)`,
  );
  return { value: DEVELOPMENT_SECRET, source: 'development' };
}

function checked<S extends 'option' | 'env'>(
  value: string,
  from: string,
  source: S,
): { value: string; source: S } {
  if (Buffer.byteLength(value) < 32) throw new UsageError(`${from} must be at least 32 bytes`);
  return { value, source };
}

function capitalize(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

// Duck-typed rather than `instanceof Error`: errors of Node's internals may come from another realm (jest).
function isParseError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function isListenError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL';
}

/**
 * The program: runs the command and exits with its code; `serve` stays up until SIGINT or SIGTERM, then closes
 * the server and the system and exits 0 (a second signal, or 10 s without closing, exits 1 at once).
 *
 * @param argv - the arguments after the program name
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let result: RunResult;
  try {
    result = await run(argv);
  } catch (error) {
    process.stderr.write(
      `chat-room: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  }
  const { serving } = result;
  if (serving === undefined) {
    process.exitCode = result.exitCode;
    return;
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`chat-room: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`chat-room: ${signal}, shutting down\n`);
    setTimeout(() => {
      process.stderr.write('chat-room: shutdown took over 10 s, exiting\n');
      process.exit(1);
    }, 10_000).unref();
    serving.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`chat-room: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) void main();
