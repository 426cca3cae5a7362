import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import sharp from 'sharp';
import { WebSocket } from 'ws';
import { createTokenAuth } from 'chat-room/ws';
import type { CliIo, Serving } from '../../src/cli/main';
import { TOKEN_ISSUER, run } from '../../src/cli/main';
import { postgresOrSkip } from '../support/services';

jest.setTimeout(30_000);

const SECRET = 'a-cli-test-secret-that-is-at-least-32-bytes';
const BIN = path.join(__dirname, '..', '..', 'bin', 'chat-room.js');

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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-room-cli-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

let serving: Serving[] = [];
let children: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(serving.map((s) => s.close()));
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  serving = [];
  children = [];
});

describe('chat-room token', () => {
  test('uses CHAT_ROOM_SECRET, and --secret over it, without a warning', async () => {
    const io = capture({ CHAT_ROOM_SECRET: SECRET });
    await run(['token', 'bob', '--expires-in', '2h'], io);
    await run(['token', 'carol', '--secret', `${SECRET}-other`], io);
    expect(io.stderr).toEqual([]);
    expect(createTokenAuth({ secret: SECRET, issuer: TOKEN_ISSUER }).verify(io.stdout[0] ?? '')).toBe('bob');
    const other = createTokenAuth({ secret: `${SECRET}-other`, issuer: TOKEN_ISSUER });
    expect(other.verify(io.stdout[1] ?? '')).toBe('carol');
    expect(() => other.verify(io.stdout[0] ?? '')).toThrow('invalid token');
  });

  test('refuses bad usage with exit code 2, and a malformed user id with 1', async () => {
    const cases: [string[], number, RegExp][] = [
      [['token'], 2, /one user id/],
      [['token', 'alice', '--secret', 'short'], 2, /at least 32 bytes/],
      [['token', 'alice', '--expires-in', 'soon'], 2, /--expires-in/],
      [['token', 'alice', '--expires-in', '25h'], 2, /above the maximum token lifetime/],
      [['token', 'alice', '--secret', SECRET, '--secret-file', 'x.secret'], 2, /at most one of --secret/],
      [['token', 'alice', '--nope'], 2, /--nope/],
      [['token', 'bad id!'], 1, /userId/],
      [['launch'], 2, /unknown command 'launch'/],
      [[], 2, /Usage: chat-room/],
      [['serve', '--port', 'http'], 2, /--port must be an integer/],
      [['serve', '--port', '70000'], 2, /--port must be an integer/],
      [['serve', '--max-token-lifetime', '1y'], 2, /--max-token-lifetime must be seconds/],
    ];
    for (const [argv, exitCode, message] of cases) {
      const io = capture({ CHAT_ROOM_SECRET: SECRET });
      expect(await run(argv, io)).toEqual({ exitCode });
      expect(io.stderr.join('\n')).toMatch(message);
    }
  });

  test('--help for each command', async () => {
    for (const argv of [['--help'], ['serve', '--help'], ['token', '-h']]) {
      const io = capture();
      expect(await run(argv, io)).toEqual({ exitCode: 0 });
      expect(io.stdout.join('\n')).toMatch(/^Usage: chat-room/);
    }
  });
});

describe('chat-room serve', () => {
  test('serves the registered users; a token from `token` connects; close stops it', async () => {
    const io = capture({ CHAT_ROOM_SECRET: SECRET });
    const result = await run(['serve', '--port', '0', '--memory', '--users', 'alice, bob'], io);
    expect(result.exitCode).toBe(0);
    const s = result.serving;
    if (s === undefined) throw new Error('not serving');
    serving.push(s);
    expect(io.stdout[0]).toBe(`chat-room listening on ws://127.0.0.1:${s.server.port}`);
    expect(io.stdout).toContain('get a token: npx chat-room token alice');
    expect(s.system.getUser('bob')).toMatchObject({ id: 'bob', name: 'Bob' });

    const res = await fetch(`http://127.0.0.1:${s.server.port}/health`);
    expect(await res.text()).toBe('ok');

    const tokenIo = capture({ CHAT_ROOM_SECRET: SECRET });
    await run(['token', 'alice'], tokenIo);
    const ws = new WebSocket(`${s.server.url}?token=${tokenIo.stdout[0] ?? ''}`);
    const hello = await new Promise<unknown>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data))));
      ws.once('error', reject);
    });
    expect(hello).toMatchObject({ type: 'hello', userId: 'alice' });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await s.close();
    expect(await closed).toBe(1001);
  });

  test('refuses a malformed user list and a port in use with a message', async () => {
    const io = capture({ CHAT_ROOM_SECRET: SECRET });
    expect(await run(['serve', '--port', '0', '--memory', '--users', 'alice,no way'], io)).toEqual({
      exitCode: 1,
    });
    const first = await run(['serve', '--port', '0', '--memory'], io);
    if (first.serving === undefined) throw new Error('not serving');
    serving.push(first.serving);
    const busy = capture({ CHAT_ROOM_SECRET: SECRET });
    expect(await run(['serve', '--memory', '--port', String(first.serving.server.port)], busy)).toEqual({
      exitCode: 2,
    });
    expect(busy.stderr.join('\n')).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  });

  test('the bin: keeps its data in ./chat-room.db, answers /health, and exits 0 on SIGTERM', async () => {
    const cwd = tempDir();
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      cwd,
      env: { ...process.env, CHAT_ROOM_SECRET: SECRET, CHAT_ROOM_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 20_000);
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        const match = /chat-room listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
        if (match !== null) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      void exited.then(() => reject(new Error(`exited early; stderr: ${stderr}`)));
    });
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).toBe('ok');

    child.kill('SIGTERM');
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no exit within 5 s of SIGTERM')), 5_000).unref(),
    );
    expect(await Promise.race([exited, timeout])).toEqual({ code: 0, signal: null });
    expect(stderr).toMatch(/SIGTERM, shutting down/);
    expect(fs.existsSync(path.join(cwd, 'chat-room.db'))).toBe(true);
  });

  test('--data: users, contacts, groups and settings survive a restart, and --users does not clash', async () => {
    const file = path.join(tempDir(), 'chat.db');
    const start = async (): Promise<Serving> => {
      const io = capture({ CHAT_ROOM_SECRET: SECRET });
      const result = await run(['serve', '--port', '0', '--data', file, '--users', 'alice,bob'], io);
      if (result.serving === undefined) throw new Error(io.stderr.join('\n'));
      expect(io.stdout).toContain(`data: SQLite file ${file}, photos in ${file}.media`);
      return result.serving;
    };
    const first = await start();
    first.system.addContact('alice', 'bob');
    const group = first.system.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob'] });
    first.system.settings('bob').setLastSeen('nobody');
    await first.system.sendMessage({ from: 'alice', groupId: group.id, text: 'see you there' });
    await first.close();

    const second = await start();
    serving.push(second);
    expect(second.system.getUser('alice').contacts).toEqual(['bob']);
    expect(second.system.getGroup(group.id).memberIds).toEqual(['alice', 'bob']);
    expect(second.system.settings('bob').lastSeen).toBe('nobody');
    expect(second.system.getFeed('bob').get(`group:${group.id}`)).toMatchObject({
      unread: 1,
      preview: 'see you there',
    });
  });

  const databaseUrl = postgresOrSkip('chat-room serve --database-url');
  (databaseUrl === undefined ? test.skip : test)(
    '--database-url: the same restart on PostgreSQL (a fresh database, dropped afterwards)',
    async () => {
      const name = `chat_room_cli_${randomBytes(5).toString('hex')}`;
      const admin = new Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      try {
        const url = new URL(databaseUrl ?? '');
        url.pathname = `/${name}`;
        const media = path.join(tempDir(), 'media');
        const start = async (): Promise<Serving> => {
          const io = capture({ CHAT_ROOM_SECRET: SECRET });
          const argv = ['serve', '--port', '0', '--database-url', url.toString(), '--media', media];
          const result = await run(argv, io);
          if (result.serving === undefined) throw new Error(io.stderr.join('\n'));
          expect(io.stdout.join('\n')).toMatch(/data: PostgreSQL at postgres:/);
          return result.serving;
        };
        const first = await start();
        const group = first.system.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['carol'] });
        const sent = await first.system.sendMessage({ from: 'carol', to: 'bob', text: 'hello' });
        await first.close();

        const second = await start();
        expect(second.system.getGroup(group.id).memberIds).toEqual(['alice', 'carol']);
        const again = await second.system.sendMessage({ from: 'carol', to: 'bob', text: 'again' });
        expect(again.seq).toBe(sent.seq + 1);
        await second.close();
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      }
    },
  );

  (databaseUrl === undefined ? test.skip : test)(
    '--database-url keeps photos in PostgreSQL: uploaded through one server, served by another',
    async () => {
      const name = `chat_room_cli_${randomBytes(5).toString('hex')}`;
      const admin = new Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      try {
        const url = new URL(databaseUrl ?? '');
        url.pathname = `/${name}`;
        const start = async (): Promise<Serving> => {
          const io = capture({ CHAT_ROOM_SECRET: SECRET });
          const result = await run(['serve', '--port', '0', '--database-url', url.toString()], io);
          if (result.serving === undefined) throw new Error(io.stderr.join('\n'));
          serving.push(result.serving);
          expect(io.stdout.join('\n')).toMatch(/photos in PostgreSQL/);
          return result.serving;
        };
        const first = await start();
        const second = await start();
        const tokenIo = capture({ CHAT_ROOM_SECRET: SECRET });
        await run(['token', 'alice'], tokenIo);
        const auth = { Authorization: `Bearer ${tokenIo.stdout[0] ?? ''}` };
        const photo = await sharp({
          create: { width: 80, height: 60, channels: 3, background: '#3366cc' },
        })
          .jpeg()
          .toBuffer();

        const posted = await fetch(`http://127.0.0.1:${first.server.port}/media`, {
          method: 'POST',
          headers: { ...auth, 'Content-Type': 'image/jpeg' },
          body: photo,
        });
        expect(posted.status).toBe(201);
        const { mediaId, bytes } = (await posted.json()) as { mediaId: string; bytes: number };
        const got = await fetch(`http://127.0.0.1:${second.server.port}/media/${mediaId}`, { headers: auth });
        expect(got.status).toBe(200);
        expect(got.headers.get('content-type')).toBe('image/jpeg');
        const body = Buffer.from(await got.arrayBuffer());
        expect(body.byteLength).toBe(bytes);
        expect(body.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));

        // In the database, not on a disk: the row holds exactly the bytes served.
        const db = new Client({ connectionString: url.toString() });
        await db.connect();
        try {
          const { rows } = await db.query<{ data: Buffer }>('SELECT data FROM media WHERE id = $1', [
            mediaId,
          ]);
          expect(rows[0]?.data.equals(body)).toBe(true);
        } finally {
          await db.end();
        }
        await Promise.all(serving.splice(0).map((s) => s.close()));
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      }
    },
  );

  test('--rate sets the frames a connection may send per second; a bad value exits 2', async () => {
    for (const bad of ['0', 'fast', '1.5', '1e3']) {
      const io = capture({ CHAT_ROOM_SECRET: SECRET });
      expect(await run(['serve', '--port', '0', '--memory', '--rate', bad], io)).toEqual({ exitCode: 2 });
      expect(io.stderr.join('\n')).toMatch(/--rate must be a positive integer/);
    }
    const io = capture({ CHAT_ROOM_SECRET: SECRET });
    const result = await run(['serve', '--port', '0', '--memory', '--rate', '1000'], io);
    const s = result.serving;
    if (s === undefined) throw new Error('not serving');
    serving.push(s);
    const tokenIo = capture({ CHAT_ROOM_SECRET: SECRET });
    await run(['token', 'alice'], tokenIo);
    const ws = new WebSocket(`${s.server.url}?token=${tokenIo.stdout[0] ?? ''}&deviceId=phone`);
    const frames: { type: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        frames.push(JSON.parse(String(data)) as { type: string });
        if (frames.length === 1) for (let i = 0; i < 200; i++) ws.send(JSON.stringify({ type: 'ping' }));
        if (frames.length === 201) resolve();
      });
      ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
      ws.once('error', reject);
    });
    // 200 frames at once, well over the default 50/s: all answered, the socket still open.
    expect(frames.filter((f) => f.type === 'pong')).toHaveLength(200);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });

  test('--allowed-origins and --max-connections-per-user set the edge; bad values exit 2', async () => {
    for (const flag of ['--max-connections-per-user', '--user-rate', '--max-uploads-per-user']) {
      const io = capture({ CHAT_ROOM_SECRET: SECRET });
      expect(await run(['serve', '--port', '0', '--memory', flag, '0'], io)).toEqual({ exitCode: 2 });
      expect(io.stderr.join('\n')).toContain(`${flag} must be a positive integer`);
    }
    const io = capture({ CHAT_ROOM_SECRET: SECRET });
    const args = ['--allowed-origins', 'https://chat.example.com', '--max-connections-per-user', '2'];
    const result = await run(['serve', '--port', '0', '--memory', ...args], io);
    const s = result.serving;
    if (s === undefined) throw new Error('not serving');
    serving.push(s);
    const tokenIo = capture({ CHAT_ROOM_SECRET: SECRET });
    await run(['token', 'alice'], tokenIo);
    const url = `${s.server.url}?token=${tokenIo.stdout[0] ?? ''}`;
    const status = (origin?: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url, origin === undefined ? {} : { headers: { Origin: origin } });
        ws.once('open', () => resolve(101)); // left open: it counts against the user's connections
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', reject);
      });
    expect(await status('https://evil.example')).toBe(403);
    expect(await status('https://chat.example.com')).toBe(101);
    expect(await status()).toBe(101);
    expect(await status()).toBe(429);
  });

  test('refuses more than one of --data, --database-url and --memory', async () => {
    const io = capture({ CHAT_ROOM_SECRET: SECRET });
    expect(await run(['serve', '--memory', '--data', 'x.db'], io)).toEqual({ exitCode: 2 });
    expect(io.stderr.join('\n')).toMatch(/at most one of --data, --database-url and --memory/);
  });
});
