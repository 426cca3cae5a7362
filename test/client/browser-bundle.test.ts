import { ChatSystem } from 'chat-room';
import type * as ClientModule from 'chat-room/client';
import { ChatClient } from 'chat-room/client';
import type { ChatServer } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { SharpImageProcessor } from 'chat-room/sharp';
import { createTokenAuth } from 'chat-room/ws';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { WebSocket } from 'ws';
import { next } from '../support/client-events';
import { chromiumOrSkip } from '../support/services';

// The ES module build of `chat-room/client` is made by the package's own `build:client` script (esbuild, for the
// browser): it must bundle every dependency, import no Node built-in, and work in a real Chromium against a real
// server on another origin.

jest.setTimeout(60_000);

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  exports: Record<string, Record<string, string>>;
};
const ESBUILD = path.join(root, 'node_modules', 'esbuild', 'bin', 'esbuild');

/** Runs esbuild with these arguments; its exit status and what it printed. */
function esbuild(args: readonly string[]): { status: number | null; stderr: string } {
  const run = spawnSync(ESBUILD, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stderr: run.stderr };
}

/** The `build:client` script's arguments, writing to `outfile` instead, with a metafile beside it. */
function buildArgs(outfile: string): string[] {
  const [command, ...args] = (pkg.scripts['build:client'] ?? '').split(/\s+/);
  expect(command).toBe('esbuild');
  return [
    ...args.filter((a) => !a.startsWith('--outfile=')),
    `--outfile=${outfile}`,
    `--metafile=${outfile}.meta.json`,
  ];
}

interface Metafile {
  inputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
}

let dir = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'chat-room-bundle-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the browser build of chat-room/client', () => {
  it('is what the package exports for browsers (Node keeps the CommonJS build), built by `npm run build`', () => {
    // Node gets one copy of the classes (instanceof works across entries); bundlers for browsers get the ES module.
    expect(pkg.exports['./client']).toEqual({
      types: './dist/client/index.d.ts',
      browser: './dist/esm/client.js',
      default: './dist/client/index.js',
    });
    expect(pkg.scripts.build).toContain('npm run build:client');
    expect(pkg.scripts['build:client']).toContain('--outfile=dist/esm/client.js');
    for (const flag of ['--bundle', '--platform=browser', '--format=esm']) {
      expect(pkg.scripts['build:client']?.split(/\s+/)).toContain(flag);
    }
  });

  it('bundles its dependencies and imports nothing: no Node built-in, no driver, no package left outside', () => {
    const outfile = path.join(dir, 'client.js');
    const build = esbuild(buildArgs(outfile));
    expect(build.stderr).not.toContain('ERROR');
    expect(build.status).toBe(0);
    const meta = JSON.parse(readFileSync(`${outfile}.meta.json`, 'utf8')) as Metafile;
    const external = Object.values(meta.inputs).flatMap((input) =>
      input.imports.filter((i) => i.external === true).map((i) => i.path),
    );
    expect(external).toEqual([]);
    const packages = new Set(
      Object.keys(meta.inputs)
        .filter((p) => p.includes('node_modules/'))
        .map((p) => p.split('node_modules/')[1]?.split('/')[0]),
    );
    // Only the core's own dependencies, never a driver (ws, pg, sharp…).
    expect([...packages].filter((name) => name !== 'eventemitter3' && name !== 'zod')).toEqual([]);
    const code = readFileSync(outfile, 'utf8');
    // An ES module whose only imports are its own: nothing is loaded at run time.
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(code).not.toMatch(/\brequire\(\s*["']/);
    expect(code).toMatch(/^export\s*\{[^}]*\bChatClient\b/m);
  });

  it('would refuse a client that imported a Node built-in', () => {
    // The same flags on a module that reaches for `node:http`: the build fails, naming it.
    const entry = path.join(dir, 'uses-node.ts');
    writeFileSync(entry, "import { createServer } from 'node:http';\nexport const server = createServer;\n");
    const args = buildArgs(path.join(dir, 'uses-node.js')).map((a) =>
      a === 'src/client/index.ts' ? entry : a,
    );
    const build = esbuild(args);
    expect(build.status).not.toBe(0);
    expect(build.stderr).toContain('node:http');
  });
});

const executablePath = chromiumOrSkip('the browser build of chat-room/client in Chromium');

(executablePath === undefined ? describe.skip : describe)('the browser build in Chromium', () => {
  const tokens = createTokenAuth({ secret: 'browser-bundle-test-secret-at-least-32-bytes' });
  let browser: Browser | undefined;
  let system: ChatSystem | undefined;
  let server: ChatServer | undefined;
  let pages: http.Server | undefined;
  let origin = '';
  let bob: ChatClient | undefined;

  beforeAll(async () => {
    const bundle = path.join(dir, 'page', 'client.js');
    expect(esbuild(buildArgs(bundle)).status).toBe(0);
    const script = readFileSync(bundle);
    // The page loads the bundle as a module and leaves its exports where the test can reach them.
    const html =
      '<!doctype html><title>chat</title>' +
      '<script type="module">import * as chatRoom from "./client.js"; globalThis.chatRoom = chatRoom;</script>';
    pages = http.createServer((request, response) => {
      if (request.url === '/client.js') {
        response.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
        response.end(script);
        return;
      }
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end(html);
    });
    await new Promise<void>((resolve) => pages?.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;

    system = ChatSystem.create({ imageProcessor: new SharpImageProcessor() });
    for (const id of ['alice', 'bob']) system.registerUser({ id, name: id });
    server = await createChatServer({ system, auth: tokens.verify, allowedOrigins: [origin] });
    bob = new ChatClient({ url: server.url, token: tokens.sign('bob'), deviceId: 'node', WebSocket });
    await bob.connect();
    browser = await chromium.launch({
      executablePath: executablePath ?? '',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    bob?.close();
    await browser?.close();
    await server?.close();
    await system?.close();
    await new Promise((resolve) => (pages === undefined ? resolve(undefined) : pages.close(resolve)));
  });

  it('connects over WebSocket and over long-poll, sends a message and a photo, and gets their acks', async () => {
    if (browser === undefined || server === undefined || bob === undefined) throw new Error('not started');
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'chatRoom' in globalThis);
    const photo = await sharp({
      create: { width: 24, height: 16, channels: 3, background: { r: 250, g: 180, b: 0 } },
    })
      .png()
      .toBuffer();

    const heard = next(bob, 'message', (m) => m.kind === 'photo');
    const result = await page.evaluate(
      async ({ url, token, png }) => {
        const { ChatClient } = (globalThis as unknown as { chatRoom: typeof ClientModule }).chatRoom;
        const overSocket = new ChatClient({ url, token, deviceId: 'tab-ws' });
        await overSocket.connect();
        const text = await overSocket.send({ to: 'bob', text: 'hello from a browser' });
        const blob = new Blob([new Uint8Array(png)], { type: 'image/png' });
        const photoAck = await overSocket.sendPhoto(blob, { to: 'bob', caption: 'from a tab' });
        const socket = { transport: overSocket.transport, seq: text.seq, photoSeq: photoAck.seq };
        overSocket.close();

        const overPoll = new ChatClient({ url, token, deviceId: 'tab-lp', transport: 'long-poll' });
        await overPoll.connect();
        const polled = await overPoll.send({ to: 'bob', text: 'and over long-poll' });
        const group = await overPoll.createGroup({ name: 'Browsers', memberIds: ['bob'] });
        const poll = { transport: overPoll.transport, seq: polled.seq, members: group.memberIds };
        overPoll.close();
        return { socket, poll, threadId: text.threadId };
      },
      { url: server.url, token: tokens.sign('alice'), png: [...photo] },
    );

    expect(result).toEqual({
      socket: { transport: 'websocket', seq: 1, photoSeq: 2 },
      poll: { transport: 'long-poll', seq: 3, members: ['alice', 'bob'] },
      threadId: 'dm:alice:bob',
    });
    const [message] = await heard;
    expect(message).toEqual(expect.objectContaining({ senderId: 'alice', text: 'from a tab', seq: 2 }));
    expect(message.media).toEqual(expect.objectContaining({ width: 24, height: 16 }));
    expect(problems).toEqual([]);
    await page.close();
  });
});
