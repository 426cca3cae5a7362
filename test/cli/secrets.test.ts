/**
 * Where `chat-room serve` and `chat-room token` get the token secret, and the limits on tokens: no published
 * secret is accepted, a secret is generated beside the data file (mode 0600) and reused, `--memory` keeps its
 * secret in the process, and tokens live at most `--max-token-lifetime`. Everything goes through `run` and real
 * requests to 127.0.0.1.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { WebSocket } from 'ws';
import { ValidationError } from 'chat-room';
import { createTokenAuth } from 'chat-room/ws';
import type { CliIo, Serving } from '../../src/cli/main';
import { run } from '../../src/cli/main';

jest.setTimeout(30_000);

const OLD_DEVELOPMENT_SECRET = 'chat-room-development-secret-not-for-production';
const EXAMPLE_SECRET = 'an example secret that is long enough!!';
const SECRET = 'a-secrets-test-secret-that-is-at-least-32-bytes';

/** Captures what the command line writes. */
function capture(
  env: Record<string, string | undefined> = {},
): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => void stdout.push(l), err: (l) => void stderr.push(l), env };
}

const dirs: string[] = [];
/** A fresh temporary directory, removed after the file's tests. */
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-room-secrets-'));
  dirs.push(dir);
  return dir;
}

let serving: Serving[] = [];
afterEach(async () => {
  await Promise.all(serving.map((s) => s.close()));
  serving = [];
});
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `serve` on a free port and returns the server (closed after the test) and what it printed. */
async function serve(argv: string[], env: Record<string, string> = {}) {
  const io = capture(env);
  const result = await run(['serve', '--port', '0', ...argv], io);
  if (result.serving === undefined) throw new Error(`not serving: ${io.stderr.join('\n')}`);
  serving.push(result.serving);
  return { serving: result.serving, port: result.serving.server.port, stdout: io.stdout };
}

/** Runs `token` and returns the token it printed. */
async function token(argv: string[], env: Record<string, string> = {}): Promise<string> {
  const io = capture(env);
  const result = await run(['token', ...argv], io);
  if (result.exitCode !== 0 || io.stdout[0] === undefined) throw new Error(io.stderr.join('\n'));
  return io.stdout[0];
}

/** Opens a WebSocket with a token: the user of its hello, or the HTTP status the upgrade was refused with. */
function connect(port: number, bearer: string): Promise<{ userId: string } | { status: number }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/?token=${encodeURIComponent(bearer)}&deviceId=phone`);
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      request.destroy();
    });
    ws.once('message', (data) => {
      resolve({ userId: (JSON.parse(String(data)) as { userId: string }).userId });
      ws.close();
    });
    ws.once('error', reject);
  });
}

/** The status of a first long-poll with a token: 200 with the hello, or the refusal. */
async function poll(port: number, bearer: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/poll?link=secrets&deviceId=laptop`, {
    headers: { authorization: `Bearer ${bearer}` },
  });
  await response.text();
  return response.status;
}

/** A token signed directly with jsonwebtoken, as anyone holding the secret could. */
function forge(secret: string, payload: object, options: jwt.SignOptions = {}): string {
  return jwt.sign(payload, secret, { algorithm: 'HS256', subject: 'alice', issuer: 'chat-room', ...options });
}

/** A port nothing listens on (just closed). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the secret file beside the data', () => {
  test('without CHAT_ROOM_SECRET, serve --data makes <data>.secret (mode 0600), and `token --data` signs with it', async () => {
    const file = path.join(tempDir(), 'chat.db');
    const { port, stdout } = await serve(['--data', file]);
    expect(stdout).toContain(`secret: ${file}.secret (generated)`);
    expect(stdout).toContain(`get a token: npx chat-room token alice --data ${file}`);
    expect(fs.statSync(`${file}.secret`).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(`${file}.secret`, 'utf8')).toMatch(/^[\w-]{43}$/); // 32 random bytes, base64url

    const bearer = await token(['alice', '--data', file]);
    expect(await connect(port, bearer)).toEqual({ userId: 'alice' });
    expect(await poll(port, bearer)).toBe(200);
  });

  test('a restart on the same data file reuses the secret: a token from before it still connects', async () => {
    const file = path.join(tempDir(), 'chat.db');
    const first = await serve(['--data', file]);
    const secret = fs.readFileSync(`${file}.secret`, 'utf8');
    const bearer = await token(['bob', '--data', file]);
    await first.serving.close();

    const second = await serve(['--data', file]);
    expect(second.stdout).toContain(`secret: ${file}.secret`);
    expect(fs.readFileSync(`${file}.secret`, 'utf8')).toBe(secret);
    expect(await connect(second.port, bearer)).toEqual({ userId: 'bob' });
  });

  test('--secret-file chooses the file for serve and token', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'chat.db');
    const secretFile = path.join(dir, 'keys', 'chat.secret');
    fs.mkdirSync(path.dirname(secretFile));
    const { port, stdout } = await serve(['--data', file, '--secret-file', secretFile]);
    expect(stdout).toContain(`get a token: npx chat-room token alice --secret-file ${secretFile}`);
    expect(fs.existsSync(`${file}.secret`)).toBe(false);
    expect(await connect(port, await token(['alice', '--secret-file', secretFile]))).toEqual({
      userId: 'alice',
    });
  });

  test('a secret file open to group or others is refused with a chmod 600 hint, by serve and token', async () => {
    const file = path.join(tempDir(), 'chat.db');
    fs.writeFileSync(`${file}.secret`, 'a-secret-file-of-at-least-32-bytes-but-readable');
    fs.chmodSync(`${file}.secret`, 0o640);
    for (const argv of [
      ['serve', '--port', '0', '--data', file],
      ['token', 'alice', '--data', file],
    ]) {
      const io = capture();
      expect(await run(argv, io)).toEqual({ exitCode: 1 });
      expect(io.stderr).toEqual([
        `chat-room: the secret file ${file}.secret is open to group or others (mode 640): ` +
          `run \`chmod 600 ${file}.secret\``,
      ]);
    }
    expect(fs.existsSync(file)).toBe(false); // serve stopped before opening the database
  });

  test('a secret file holding under 32 bytes, or a published secret, is refused', async () => {
    const file = path.join(tempDir(), 'chat.db');
    for (const [content, message] of [
      ['too short\n', /secret must be at least 32 bytes/],
      [`${OLD_DEVELOPMENT_SECRET}\n`, /secret is public/],
    ] as const) {
      fs.writeFileSync(`${file}.secret`, content, { mode: 0o600 });
      const io = capture();
      expect(await run(['serve', '--port', '0', '--data', file], io)).toEqual({ exitCode: 1 });
      expect(io.stderr.join('\n')).toMatch(message);
      expect(io.stderr.join('\n')).toContain(`the secret file ${file}.secret`);
    }
  });

  test('`token` without a secret file exits 1 telling how to make one, and makes none', async () => {
    const file = path.join(tempDir(), 'chat.db');
    const io = capture();
    expect(await run(['token', 'alice', '--data', file], io)).toEqual({ exitCode: 1 });
    expect(io.stdout).toEqual([]);
    expect(io.stderr).toEqual([
      `chat-room: no secret at ${file}.secret: start \`chat-room serve --data ${file}\` once, or set CHAT_ROOM_SECRET`,
    ]);
    expect(fs.existsSync(`${file}.secret`)).toBe(false);

    const secretFile = path.join(path.dirname(file), 'other.secret');
    const other = capture();
    expect(await run(['token', 'alice', '--secret-file', secretFile], other)).toEqual({ exitCode: 1 });
    expect(other.stderr.join('\n')).toMatch(/start `chat-room serve --secret-file .*other\.secret` once/);
    expect(fs.existsSync(secretFile)).toBe(false);
  });
});

describe('published secrets', () => {
  test('a token signed with the old development secret gets 401, at the upgrade and on /poll', async () => {
    const { port } = await serve(['--data', path.join(tempDir(), 'chat.db')]);
    const forged = forge(OLD_DEVELOPMENT_SECRET, {}, { expiresIn: '1h' });
    expect(await connect(port, forged)).toEqual({ status: 401 });
    expect(await poll(port, forged)).toBe(401);
  });

  test('CHAT_ROOM_SECRET or --secret that is public or short is a usage error (2), and nothing listens', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'chat.db');
    const port = await freePort();
    const cases: [Record<string, string>, string[], RegExp][] = [
      [{ CHAT_ROOM_SECRET: OLD_DEVELOPMENT_SECRET }, [], /CHAT_ROOM_SECRET: secret is public/],
      [{ CHAT_ROOM_SECRET: EXAMPLE_SECRET }, [], /CHAT_ROOM_SECRET: secret is public/],
      [{ CHAT_ROOM_SECRET: 'short' }, [], /CHAT_ROOM_SECRET: secret must be at least 32 bytes/],
      [{}, ['--secret', OLD_DEVELOPMENT_SECRET], /--secret: secret is public/],
    ];
    for (const [env, argv, message] of cases) {
      const io = capture(env);
      const result = await run(['serve', '--port', String(port), '--data', file, ...argv], io);
      if (result.serving !== undefined) serving.push(result.serving); // closed after the test, should it start
      expect(result).toEqual({ exitCode: 2 });
      expect(io.stderr.join('\n')).toMatch(message);
      const tokenIo = capture(env);
      expect(await run(['token', 'alice', '--data', file, ...argv], tokenIo)).toEqual({ exitCode: 2 });
      expect(tokenIo.stdout).toEqual([]);
    }
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect(fs.readdirSync(dir)).toEqual([]); // no database, no secret file
  });

  test('createTokenAuth refuses the published secrets, as a ValidationError on the field `secret`', () => {
    for (const secret of [OLD_DEVELOPMENT_SECRET, EXAMPLE_SECRET, Buffer.from(EXAMPLE_SECRET)]) {
      let caught: unknown;
      try {
        createTokenAuth({ secret });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).details).toEqual({ field: 'secret' });
      expect(String((caught as Error).message)).not.toContain(secret.toString());
    }
  });
});

describe('--memory', () => {
  test('prints a working token for each user, keeps the secret in memory and writes no file', async () => {
    const here = process.cwd();
    const files = ['chat-room.secret', 'chat-room.db.secret'].map((f) => path.join(here, f));
    expect(files.filter((f) => fs.existsSync(f))).toEqual([]);
    const { port, stdout } = await serve(['--memory', '--users', 'alice,bob']);
    expect(stdout).toContain('secret: in memory (gone when the server stops)');
    expect(stdout.some((line) => line.startsWith('get a token:'))).toBe(false);
    const printed = new Map(
      stdout.flatMap((line) => {
        const match = /^token for (\w+): (\S+)$/.exec(line);
        return match === null ? [] : [[match[1], match[2]] as const];
      }),
    );
    expect([...printed.keys()]).toEqual(['alice', 'bob']);
    expect(await connect(port, printed.get('alice') ?? '')).toEqual({ userId: 'alice' });
    expect(await connect(port, printed.get('bob') ?? '')).toEqual({ userId: 'bob' });
    expect(files.filter((f) => fs.existsSync(f))).toEqual([]);
  });

  test('each start has its own secret: a token of an earlier start is refused', async () => {
    const first = await serve(['--memory', '--users', 'alice']);
    const earlier = (first.stdout.find((l) => l.startsWith('token for alice: ')) ?? '').split(': ')[1] ?? '';
    await first.serving.close();
    const second = await serve(['--memory', '--users', 'alice']);
    expect(await connect(second.port, earlier)).toEqual({ status: 401 });
  });
});

describe('the maximum token lifetime', () => {
  test('tokens over the maximum lifetime, without exp or iat, or issued in the future get 401', async () => {
    const file = path.join(tempDir(), 'chat.db');
    const { port } = await serve(['--data', file]);
    const secret = fs.readFileSync(`${file}.secret`, 'utf8');
    const now = Math.floor(Date.now() / 1000);
    expect(await connect(port, forge(secret, {}, { expiresIn: '24h' }))).toEqual({ userId: 'alice' });
    const refused = {
      'over 24 h': forge(secret, {}, { expiresIn: '25h' }),
      'without exp': forge(secret, {}),
      'without iat': forge(secret, { exp: now + 60 }, { noTimestamp: true }),
      'issued in an hour': forge(secret, { iat: now + 3_600, exp: now + 3_660 }),
    };
    for (const [why, bearer] of Object.entries(refused)) {
      expect([why, await connect(port, bearer)]).toEqual([why, { status: 401 }]);
      expect([why, await poll(port, bearer)]).toEqual([why, 401]);
    }
  });

  test('serve --max-token-lifetime lowers the maximum: a 2 h token from `token` gets 401, a 30 min one connects', async () => {
    const env = { CHAT_ROOM_SECRET: SECRET };
    const { port, stdout } = await serve(['--memory', '--max-token-lifetime', '1h'], env);
    expect(stdout).toContain('get a token: npx chat-room token alice');
    expect(await connect(port, await token(['alice', '--expires-in', '2h'], env))).toEqual({ status: 401 });
    expect(await connect(port, await token(['alice', '--expires-in', '30m'], env))).toEqual({
      userId: 'alice',
    });
  });

  test('`token --expires-in` above `--max-token-lifetime` (default 24h) is a usage error', async () => {
    const env = { CHAT_ROOM_SECRET: SECRET };
    const io = capture(env);
    expect(await run(['token', 'alice', '--expires-in', '7d'], io)).toEqual({ exitCode: 2 });
    expect(io.stderr).toEqual([
      'chat-room: --expires-in 7d is above the maximum token lifetime, 24h (--max-token-lifetime)',
    ]);
    expect(await token(['alice', '--expires-in', '7d', '--max-token-lifetime', '7d'], env)).toMatch(/^ey/);
    for (const argv of [
      ['token', 'alice', '--max-token-lifetime', 'forever'],
      ['serve', '--memory', '--max-token-lifetime', '0'],
    ]) {
      const bad = capture(env);
      expect(await run(argv, bad)).toEqual({ exitCode: 2 });
      expect(bad.stderr.join('\n')).toMatch(/--max-token-lifetime must be seconds or a span/);
    }
  });

  test('createTokenAuth: sign refuses an expiresIn above maxLifetime; verify refuses a longer-lived token', () => {
    const long = createTokenAuth({ secret: SECRET, expiresIn: '2d', maxLifetime: '7d' });
    const strict = createTokenAuth({ secret: SECRET, expiresIn: '2h', maxLifetime: '1h' });
    expect(() => strict.sign('alice')).toThrow(ValidationError);
    expect(() => strict.verify(long.sign('alice'))).toThrow('invalid token');
    expect(long.verify(long.sign('alice'))).toBe('alice');
    // The default maximum, 24 h, is allowed to the second.
    expect(createTokenAuth({ secret: SECRET }).verify(forge(SECRET, {}, { expiresIn: 86_400 }))).toBe(
      'alice',
    );
    expect(() => createTokenAuth({ secret: SECRET, maxLifetime: 'forever' as '1h' })).toThrow(
      ValidationError,
    );
  });
});
