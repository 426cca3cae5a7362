/**
 * The `chat-room` command line: `serve` runs a WebSocket chat server that keeps its data in a SQLite file (or
 * PostgreSQL, or memory), `token` prints a bearer token for a user. Not reachable from the package's entries;
 * `bin/chat-room.js` runs it.
 *
 *   npx chat-room serve [--port 8080] [--host 127.0.0.1] [--users alice,bob,carol]
 *                       [--data ./chat-room.db | --database-url postgres://... | --memory] [--media <dir>]
 *                       [--rate <frames/s>] [--secret-file <file>] [--max-token-lifetime 24h]
 *   npx chat-room token <userId> [--data ./chat-room.db | --secret-file <file>] [--expires-in 1h]
 *                       [--max-token-lifetime 24h]
 *
 * The token secret is $CHAT_ROOM_SECRET, else a random one kept in `<data file>.secret` (mode 0600, made by the
 * first `serve`), or for `--memory` a random one that lives as long as the process. No secret published with
 * chat-room is accepted.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { FsMediaStore } from '../adapters/fs';
import { SharpImageProcessor } from '../adapters/sharp';
import { CachingMessageStore } from '../adapters/caching';
import { openSqliteStores } from '../adapters/sqlite';
import type * as PostgresEntry from '../adapters/postgres';
import type { ChatServer, ChatServerOptions } from '../server';
import type { TokenAuth } from '../adapters/ws';
import { createTokenAuth } from '../adapters/ws';
import { createChatServer } from '../server';
import type { ChatSystemDeps } from '../compose-system';
import { ChatSystem } from '../chat-system';
import { ChatRoomError } from '../domain';
import { SetupError, UsageError } from './errors';
import type { Secret } from './secret-file';
import { SECRET_ENV, existingSecretFile, givenSecret, serverSecret } from './secret-file';

export { SECRET_ENV } from './secret-file';

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

const SECRET_OPTIONS_USAGE = `  --secret-file <f>   the file the token secret is kept in (instead of <data file>.secret)
  --secret <s>        the token secret itself, at least 32 bytes; prefer $${SECRET_ENV}: arguments
                      show in ps and in the shell's history`;

const USAGE = `Usage: chat-room <command> [options]

Commands:
  serve             run a WebSocket chat server (data in ./chat-room.db by default)
  token <userId>    print a bearer token for a user

Run "chat-room <command> --help" for a command's options.`;

const SERVE_USAGE = `Usage: chat-room serve [options]

Runs a WebSocket chat server (photos included). Messages, users, groups, settings and receipts are kept
in a SQLite file by default, so a restart carries on where it stopped.

Tokens are signed with --secret or the secret in --secret-file when given, else with $${SECRET_ENV} when
it is set, else with a random secret kept in <data file>.secret (./chat-room.secret with --database-url),
made with mode 0600 by the first start and reused by the next ones and by "chat-room token". With --memory
the random secret lives as long as the server, and a token for each of --users is printed (valid for
--max-token-lifetime). Several servers on one database must share ${SECRET_ENV} or the same secret file.
No published secret is accepted.

Options:
  --port <n>          the port to listen on (default 8080; 0 picks a free one)
  --host <h>          the interface to listen on (default 127.0.0.1)
  --users <ids>       users registered at start, comma-separated (default alice,bob,carol)
  --data <file>       the SQLite file to keep everything in (default ./chat-room.db)
  --database-url <u>  keep everything in PostgreSQL instead (postgres://user@host:5432/db)
  --memory            keep everything in memory: gone when the server stops
  --media <dir>       where photos are kept (default: <data file>.media; in PostgreSQL with
                      --database-url, shared by every server; in memory with --memory)
  --allowed-origins <list>
                      browser origins allowed besides the server's own, comma-separated
                      (https://chat.example.com); * allows any. Default: the own origin only
  --rate <n>          frames a connection may send per second; beyond that they are refused
                      with RATE_LIMITED (default 50; raise it for load tests)
  --user-rate <n>     frames one user may send per second over all connections (default
                      twice --rate, at least 100)
  --max-connections-per-user <n>
                      connections one user may have open; the next gets 429 (default 16)
  --max-connections-per-address <n>
                      connections one client address may have open (default: no cap)
  --max-uploads-per-user <n>
                      photo uploads one user may have in flight; the next gets 429 (default 2)
  --upload-mib-per-minute <n>
                      MiB of uploads one user may send per minute (default 64)
  --upload-ttl <t>    how long an upload no message refers to is kept (default 1h)
${SECRET_OPTIONS_USAGE}
  --max-token-lifetime <t>
                      tokens that live longer than this are refused (default 24h)
  --users are registered at start unless they already exist.
  -h, --help          show this help`;

const TOKEN_USAGE = `Usage: chat-room token <userId> [options]

Prints a bearer token for a user, signed with the secret the server uses: --secret or --secret-file when
given, else $${SECRET_ENV} when it is set, else the secret file "chat-room serve" made beside its data
(<--data file>.secret). It never makes a secret file.

Options:
  --data <file>       the server's SQLite file; its secret is <file>.secret (default ./chat-room.db)
${SECRET_OPTIONS_USAGE}
  --expires-in <t>    how long it lives: seconds, or a span such as 30m, 12h, 7d (default 1h)
  --max-token-lifetime <t>
                      the server's maximum token lifetime; --expires-in may not exceed it (default 24h)
  -h, --help          show this help`;

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
};

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
    if (ChatRoomError.is(error) || error instanceof SetupError) {
      io.err(`chat-room: ${error.message}`);
      return { exitCode: 1 };
    }
    throw error;
  }
}

/** The options `serve` and `token` share: where the token secret is, and how long a token may live. */
const SECRET_OPTIONS = {
  secret: { type: 'string' },
  'secret-file': { type: 'string' },
  'max-token-lifetime': { type: 'string', default: '24h' },
} as const;

/** The default SQLite file, and the secret file of servers on PostgreSQL. */
const DEFAULT_DATA = './chat-room.db';
const DEFAULT_SHARED_SECRET_FILE = './chat-room.secret';

async function serve(args: readonly string[], io: CliIo): Promise<RunResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      users: { type: 'string', default: 'alice,bob,carol' },
      data: { type: 'string' },
      'database-url': { type: 'string' },
      memory: { type: 'boolean' },
      media: { type: 'string' },
      rate: { type: 'string' },
      'allowed-origins': { type: 'string' },
      'user-rate': { type: 'string' },
      'max-connections-per-user': { type: 'string' },
      'max-connections-per-address': { type: 'string' },
      'max-uploads-per-user': { type: 'string' },
      'upload-mib-per-minute': { type: 'string' },
      'upload-ttl': { type: 'string' },
      ...SECRET_OPTIONS,
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
  const rate = positiveOption(values.rate, '--rate');
  const edge = serverLimits(values);
  const uploadTtl =
    values['upload-ttl'] === undefined ? undefined : spanSeconds(values['upload-ttl'], '--upload-ttl');
  const users = values.users
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
  const maxLifetime = spanSeconds(values['max-token-lifetime'], '--max-token-lifetime');
  const place = storagePlace(values);
  // Before anything opens or listens: a refused secret leaves no database behind and nothing listening.
  const defaultFile =
    place.kind === 'memory'
      ? undefined
      : place.kind === 'sqlite'
        ? `${place.file}.secret`
        : DEFAULT_SHARED_SECRET_FILE;
  const secret = serverSecret(values, defaultFile, io.env);
  const tokens = tokenAuth(secret, { maxLifetime, expiresIn: maxLifetime });

  const storage = await openStorage(place, values.media);
  let system: ChatSystem | undefined;
  let server: ChatServer;
  try {
    system = await ChatSystem.open({
      imageProcessor: new SharpImageProcessor(),
      ...(uploadTtl === undefined ? {} : { uploadTtlMs: uploadTtl * 1_000 }),
      ...storage.deps,
    });
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
      ...edge,
    });
  } catch (error) {
    await system?.close();
    await storage.close();
    if (isListenError(error)) throw new UsageError(`cannot listen on ${values.host}:${port}: ${error.code}`);
    throw error;
  }
  const url = server.url.replace(/\/$/, '');
  const http = url.replace(/^ws:/, 'http:');
  io.out(`chat-room listening on ${url}`);
  io.out(`data: ${storage.description}`);
  io.out(`secret: ${secret.description}`);
  io.out(`users: ${users.length === 0 ? '(none)' : users.join(', ')}`);
  if (secret.kind === 'memory') {
    // Nothing else can sign for this secret: these tokens are the only way in.
    for (const id of users) io.out(`token for ${id}: ${tokens.sign(id)}`);
  } else {
    io.out(`get a token: ${tokenCommand(users[0] ?? 'alice', secret, place, values)}`);
  }
  io.out(
    `connect: ${url}/?token=<token>&deviceId=phone (or long-poll: ${http}/poll?link=<id>&deviceId=phone)`,
  );
  io.out(`photos: POST ${http}/media, GET ${http}/media/<id> (Authorization: Bearer <token>)`);
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

/** The server options `serve`'s flags set: origins, per-user and per-address limits, upload limits. */
function serverLimits(values: {
  'allowed-origins'?: string | undefined;
  'user-rate'?: string | undefined;
  'max-connections-per-user'?: string | undefined;
  'max-connections-per-address'?: string | undefined;
  'max-uploads-per-user'?: string | undefined;
  'upload-mib-per-minute'?: string | undefined;
}): Partial<ChatServerOptions> {
  const origins = values['allowed-origins']
    ?.split(',')
    .map((o) => o.trim())
    .filter((o) => o.length > 0);
  const userRate = positiveOption(values['user-rate'], '--user-rate');
  const perUser = positiveOption(values['max-connections-per-user'], '--max-connections-per-user');
  const perAddress = positiveOption(values['max-connections-per-address'], '--max-connections-per-address');
  const uploads = positiveOption(values['max-uploads-per-user'], '--max-uploads-per-user');
  const mib = positiveOption(values['upload-mib-per-minute'], '--upload-mib-per-minute');
  return {
    ...(origins === undefined ? {} : { allowedOrigins: origins }),
    userLimits: {
      ...(userRate === undefined ? {} : { rate: { frames: userRate, perMs: 1_000 } }),
      ...(perUser === undefined ? {} : { maxConnectionsPerUser: perUser }),
      ...(perAddress === undefined ? {} : { maxConnectionsPerAddress: perAddress }),
    },
    uploadLimits: {
      ...(uploads === undefined ? {} : { maxInFlightPerUser: uploads }),
      ...(mib === undefined ? {} : { maxBytesPerMinutePerUser: mib * 1024 * 1024 }),
    },
  };
}

/** A flag that takes a positive integer; `undefined` when it is not given. */
function positiveOption(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${option} must be a positive integer (got '${value}')`);
  }
  return n;
}

/** The `chat-room token` command that signs with the secret `serve` uses. */
function tokenCommand(
  user: string,
  secret: Secret,
  place: StoragePlace,
  values: { 'max-token-lifetime': string },
): string {
  let command = `npx chat-room token ${user}`;
  if (secret.kind === 'option') command += ' --secret <the same secret>';
  if (secret.kind === 'file') {
    const isDefault = place.kind === 'sqlite' && secret.file === `${place.file}.secret`;
    command += isDefault ? ` --data ${place.file}` : ` --secret-file ${secret.file}`;
  }
  // `token` signs for 1 h by default: below that the server would refuse its tokens.
  const max = values['max-token-lifetime'];
  if (spanSeconds(max, '--max-token-lifetime') < 3_600) command += ` --expires-in ${max}`;
  return command;
}

/** Where `serve` keeps its data, as the options chose. */
type StoragePlace =
  | { readonly kind: 'memory' }
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'sqlite'; readonly file: string };

function storagePlace(values: {
  data?: string | undefined;
  'database-url'?: string | undefined;
  memory?: boolean | undefined;
  media?: string | undefined;
}): StoragePlace {
  const url = values['database-url'];
  const chosen = [values.data !== undefined, url !== undefined, values.memory === true].filter(Boolean);
  if (chosen.length > 1) throw new UsageError('give at most one of --data, --database-url and --memory');
  if (values.memory === true) {
    if (values.media !== undefined) throw new UsageError('--media keeps photos on disk; drop it or --memory');
    return { kind: 'memory' };
  }
  if (url !== undefined) return { kind: 'postgres', url };
  return { kind: 'sqlite', file: values.data ?? DEFAULT_DATA };
}

/** The stores of a place, opened. */
interface Storage {
  readonly deps: Partial<ChatSystemDeps>;
  readonly description: string;
  close(): Promise<void>;
}

async function openStorage(place: StoragePlace, mediaDir: string | undefined): Promise<Storage> {
  if (place.kind === 'memory') {
    return { deps: {}, description: 'in memory (gone when the server stops)', close: async () => undefined };
  }
  if (place.kind === 'postgres') {
    // Loaded only here: pg is an optional dependency.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openPostgresStores } = require('../adapters/postgres') as typeof PostgresEntry;
    const stores = await openPostgresStores(place.url);
    // Photos in the database unless a directory is asked for: then one node's disk, as before.
    return {
      deps: {
        store: new CachingMessageStore(stores.store),
        directoryStore: stores.directoryStore,
        mediaStore: mediaDir === undefined ? stores.mediaStore : new FsMediaStore({ dir: mediaDir }),
      },
      description: `PostgreSQL at ${redact(place.url)}, photos in ${mediaDir ?? 'PostgreSQL too'}`,
      close: stores.close,
    };
  }
  const stores = openSqliteStores(place.file);
  const media = mediaDir ?? `${place.file}.media`;
  return {
    deps: {
      store: new CachingMessageStore(stores.store),
      directoryStore: stores.directoryStore,
      mediaStore: new FsMediaStore({ dir: media }),
    },
    description: `SQLite file ${place.file}, photos in ${media}`,
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
      data: { type: 'string' },
      'expires-in': { type: 'string', default: '1h' },
      ...SECRET_OPTIONS,
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
  const expiresIn = spanSeconds(values['expires-in'], '--expires-in');
  const maxLifetime = spanSeconds(values['max-token-lifetime'], '--max-token-lifetime');
  if (expiresIn > maxLifetime) {
    throw new UsageError(
      `--expires-in ${values['expires-in']} is above the maximum token lifetime, ` +
        `${values['max-token-lifetime']} (--max-token-lifetime)`,
    );
  }
  const data = values.data ?? DEFAULT_DATA;
  const secret =
    givenSecret(values, io.env, (file) => existingSecretFile(file, `--secret-file ${file}`)) ??
    existingSecretFile(`${data}.secret`, `--data ${data}`);
  io.out(tokenAuth(secret, { maxLifetime, expiresIn }).sign(positionals[0] ?? ''));
  return { exitCode: 0 };
}

/** `createTokenAuth` for a secret; a refused secret is a usage error (a secret file's, a setup error). */
function tokenAuth(secret: Secret, lifetimes: { maxLifetime: number; expiresIn: number }): TokenAuth {
  try {
    return createTokenAuth({ secret: secret.value, issuer: TOKEN_ISSUER, ...lifetimes });
  } catch (error) {
    if (!ChatRoomError.is(error) || error.details['field'] !== 'secret') throw error;
    const message = `${secret.from}: ${error.message}`;
    throw secret.kind === 'file' ? new SetupError(message) : new UsageError(message);
  }
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3_600, d: 86_400 };

/** The seconds of a span option: `90`, `30m`, `12h`, `7d`; 0 and anything else are usage errors. */
function spanSeconds(value: string, option: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value);
  const seconds = match === null ? 0 : Number(match[1]) * (UNIT_SECONDS[match[2] ?? ''] ?? 0);
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new UsageError(`${option} must be seconds or a span such as 30m, 12h, 7d (got '${value}')`);
  }
  return seconds;
}

function capitalize(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
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
