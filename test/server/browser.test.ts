import { ChatSystem } from 'chat-room';
import type { ChatServer } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { SharpImageProcessor } from 'chat-room/sharp';
import { createTokenAuth } from 'chat-room/ws';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { chromiumOrSkip } from '../support/services';

// A real Chromium: a page on an allowed origin uses the server (WebSocket, long-poll, a photo shown from a blob,
// the token never in its URL); a page on another origin gets nothing.

jest.setTimeout(60_000);

const executablePath = chromiumOrSkip('origins and CORS in a browser');
const tokens = createTokenAuth({ secret: 'browser-test-secret-at-least-32-bytes-long' });

let browser: Browser | undefined;
let system: ChatSystem | undefined;
let server: ChatServer | undefined;
const pages: http.Server[] = [];
let mediaId = '';

/** The parts of an `<img>` the page uses. */
interface ImageLike {
  src: string;
  readonly naturalWidth: number;
  decode(): Promise<void>;
}

/** Serves an empty HTML page: its origin is what the test is about. */
async function pageServer(): Promise<string> {
  const s = http.createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>chat</title><img id="photo">');
  });
  pages.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function page(origin: string): Promise<Page> {
  if (browser === undefined) throw new Error('no browser');
  const p = await browser.newPage();
  await p.goto(`${origin}/`);
  return p;
}

(executablePath === undefined ? describe.skip : describe)('a browser page', () => {
  let allowed = '';
  let foreign = '';

  beforeAll(async () => {
    [allowed, foreign] = [await pageServer(), await pageServer()];
    system = ChatSystem.create({ imageProcessor: new SharpImageProcessor() });
    for (const id of ['alice', 'bob']) system.registerUser({ id, name: id });
    server = await createChatServer({ system, auth: tokens.verify, allowedOrigins: [allowed] });
    const photo = await sharp({
      create: { width: 40, height: 30, channels: 3, background: { r: 10, g: 120, b: 200 } },
    })
      .png()
      .toBuffer();
    const message = await system.sendPhoto({ from: 'alice', to: 'bob', photo: new Uint8Array(photo) });
    mediaId = message.media?.mediaId ?? '';
    // A fresh profile of its own for every run.
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
    await browser?.close();
    await server?.close();
    await system?.close();
    await Promise.all(pages.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('on an allowed origin: shows a photo fetched with the header, connects over WebSocket and long-poll', async () => {
    const p = await page(allowed);
    const result = await p.evaluate(
      async ({ http: base, ws, token, id }) => {
        const response = await fetch(`${base}media/${id}`, { headers: { Authorization: `Bearer ${token}` } });
        // The page's DOM (this project compiles without the DOM types).
        const page = globalThis as unknown as { document: { getElementById(id: string): ImageLike } };
        const img = page.document.getElementById('photo');
        img.src = URL.createObjectURL(await response.blob());
        await img.decode();
        const hello = await new Promise<string>((resolve, reject) => {
          const socket = new WebSocket(`${ws}?token=${token}&deviceId=browser`);
          socket.onmessage = (event) => {
            resolve(JSON.parse(String(event.data)).type);
            socket.close();
          };
          socket.onerror = () => reject(new Error('the socket failed'));
        });
        const poll = await fetch(`${base}poll?link=tab1&deviceId=browser-lp`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        const frames = ((await poll.json()) as { frames: { type: string }[] }).frames;
        return { width: img.naturalWidth, hello, poll: poll.status, first: frames[0]?.type };
      },
      { http: server?.httpUrl ?? '', ws: server?.url ?? '', token: tokens.sign('bob'), id: mediaId },
    );
    expect(result).toEqual({ width: 40, hello: 'hello', poll: 200, first: 'hello' });
    await p.close();
  });

  it('on another origin: the photo, the socket and the poll are all refused', async () => {
    const p = await page(foreign);
    const before = [server?.transport.openConnections, server?.longPoll?.openConnections];
    const result = await p.evaluate(
      async ({ http: base, ws, token, id }) => {
        const refused = (promise: Promise<unknown>): Promise<boolean> =>
          promise.then(
            () => false,
            () => true,
          );
        const photo = await refused(
          fetch(`${base}media/${id}`, { headers: { Authorization: `Bearer ${token}` } }),
        );
        const poll = await refused(
          fetch(`${base}poll?link=tab2&deviceId=evil`, { headers: { Authorization: `Bearer ${token}` } }),
        );
        const socket = await new Promise<string>((resolve) => {
          const s = new WebSocket(`${ws}?token=${token}&deviceId=evil`);
          s.onopen = () => resolve('open');
          s.onerror = () => resolve('refused');
        });
        return { photo, poll, socket };
      },
      { http: server?.httpUrl ?? '', ws: server?.url ?? '', token: tokens.sign('bob'), id: mediaId },
    );
    expect(result).toEqual({ photo: true, poll: true, socket: 'refused' });
    // Nothing of the refused page reached the system: no socket and no link was opened for it.
    expect([server?.transport.openConnections, server?.longPoll?.openConnections]).toEqual(before);
    await p.close();
  });
});
