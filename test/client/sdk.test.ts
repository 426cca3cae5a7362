import type { Message } from 'chat-room';
import { ManualClock, NotFoundError, PermissionError, ValidationError } from 'chat-room';
import type { SettingsChange, WebSocketConstructor, WebSocketLike } from 'chat-room/client';
import sharp from 'sharp';
import { WebSocket } from 'ws';
import { next } from '../support/client-events';
import { png, sdkRig } from './sdk-rig';

// The SDK's methods through a real server: each request of the protocol, answered or refused with its typed error,
// waiting for a connection and surviving a dropped one.

jest.setTimeout(20_000);

const { start, client } = sdkRig();

describe('ChatClient groups', () => {
  it('creates a group, adds, promotes and removes members, and leaves it; refusals are typed', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    // Called before connect(): it waits in the queue for the connection.
    const creating = alice.createGroup({ name: 'Trip', memberIds: ['bob'] });
    await Promise.all([alice.connect(), bob.connect()]);
    const group = await creating;
    expect(group).toEqual(
      expect.objectContaining({
        name: 'Trip',
        ownerId: 'alice',
        memberIds: ['alice', 'bob'],
        adminIds: ['alice'],
      }),
    );

    // Bob is not an admin (yet).
    const refused = await bob.addGroupMembers(group.id, ['carol']).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PermissionError);
    expect(refused).toMatchObject({ code: 'FORBIDDEN' });

    expect((await alice.addGroupMembers(group.id, ['carol'])).memberIds).toEqual(['alice', 'bob', 'carol']);
    expect((await alice.promoteGroupMember(group.id, 'bob')).adminIds).toEqual(['alice', 'bob']);
    expect((await bob.removeGroupMember(group.id, 'carol')).memberIds).toEqual(['alice', 'bob']);
    expect((await alice.leaveGroup(group.id)).memberIds).toEqual(['bob']);

    // A message to the group reaches its members through the same client.
    const ack = await bob.send({ groupId: group.id, text: 'just me now' });
    expect(ack.threadId).toBe(`group:${group.id}`);
    await expect(alice.leaveGroup(group.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(alice.createGroup({ name: '', memberIds: [] })).rejects.toBeInstanceOf(ValidationError);
    await expect(alice.addGroupMembers('no-such-group', ['bob'])).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('ChatClient contacts and settings', () => {
  it('adds a contact and finds it by name; finds a discoverable stranger with a global search', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const carol = client(server, 'carol');
    await Promise.all([alice.connect(), carol.connect()]);

    expect(await alice.searchContacts('bob')).toEqual([]);
    await alice.addContact('bob');
    expect(await alice.searchContacts('BUILDER')).toEqual([
      { id: 'bob', name: 'Bob Builder', rank: 'exact' },
    ]);
    expect(await alice.searchContacts('bo', { limit: 5 })).toEqual([
      { id: 'bob', name: 'Bob Builder', rank: 'prefix' },
    ]);
    await expect(alice.addContact('nobody')).rejects.toBeInstanceOf(NotFoundError);

    expect(await alice.searchContacts('Carol', { global: true })).toEqual([]);
    expect((await carol.updateSettings({ discoverable: true })).discoverable).toBe(true);
    expect(await alice.searchContacts('Carol', { global: true })).toEqual([
      expect.objectContaining({ id: 'carol', name: 'Carol Danvers' }),
    ]);
  });

  it('reads and changes settings one change at a time', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    await alice.connect();
    const before = await alice.getSettings();
    expect(before).toEqual(
      expect.objectContaining({ readReceipts: true, lastSeen: 'everyone', muted: [], blocked: [] }),
    );

    expect(await alice.updateSettings({ lastSeen: 'nobody' })).toMatchObject({ lastSeen: 'nobody' });
    expect(await alice.updateSettings({ readReceipts: false })).toMatchObject({ readReceipts: false });
    expect(await alice.updateSettings({ block: 'carol' })).toMatchObject({ blocked: ['carol'] });
    const muted = await alice.updateSettings({ mute: { threadId: 'dm:alice:bob' } });
    expect(muted.muted).toEqual([{ threadId: 'dm:alice:bob' }]);
    expect(await alice.getSettings()).toEqual(muted);

    // Two changes in one call are refused whole: nothing of it applies.
    const two = { previews: false, discoverable: true } as unknown as SettingsChange;
    await expect(alice.updateSettings(two)).rejects.toBeInstanceOf(ValidationError);
    expect(await alice.getSettings()).toEqual(muted);
  });
});

describe('ChatClient typing', () => {
  it('tells the other member, who hears a typing event; a thread the user is not in is NOT_FOUND', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    const carol = client(server, 'carol');
    await Promise.all([alice.connect(), bob.connect(), carol.connect()]);
    const { threadId } = await alice.send({ to: 'bob', text: 'hi' });

    const heard = next(bob, 'typing');
    await alice.typing(threadId, true);
    expect((await heard)[0]).toEqual({ threadId, userId: 'alice', typing: true });
    const stopped = next(bob, 'typing', (t) => !t.typing);
    await alice.typing(threadId, false);
    expect((await stopped)[0]).toEqual({ threadId, userId: 'alice', typing: false });

    await expect(carol.typing(threadId, true)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('ChatClient photos', () => {
  it('uploads a photo and sends it: the recipient gets it with its caption and can fetch it', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    await Promise.all([alice.connect(), bob.connect()]);

    const received = next(bob, 'message');
    const sent = next(alice, 'message-sent');
    const ack = await alice.sendPhoto(await png(64, 48), { to: 'bob', caption: 'the view' });
    expect(ack).toEqual(expect.objectContaining({ threadId: 'dm:alice:bob', seq: 1 }));

    const [photo] = (await received) as [Message];
    expect(photo).toEqual(
      expect.objectContaining({ id: ack.messageId, kind: 'photo', text: 'the view', senderId: 'alice' }),
    );
    const mediaId = photo.media?.mediaId ?? '';
    expect(photo.media).toEqual(expect.objectContaining({ width: 64, height: 48, mimeType: 'image/png' }));
    const { bytes } = await bob.fetchMedia(mediaId);
    expect((await sharp(bytes).metadata()).width).toBe(64);

    // Alice's own device applies her photo from the ack, and her chat list shows it.
    const [own] = (await sent) as [Message];
    expect(own).toEqual(expect.objectContaining({ id: ack.messageId, kind: 'photo', media: photo.media }));
    expect(alice.feed.get(ack.threadId)).toEqual(expect.objectContaining({ preview: '📷 the view' }));
    expect(bob.feed.get(ack.threadId)).toEqual(
      expect.objectContaining({ preview: '📷 the view', unread: 1 }),
    );
  });

  it('sends a Blob to a group, and refuses a photo without a place to go or that is no image', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    await Promise.all([alice.connect(), bob.connect()]);
    const group = await alice.createGroup({ name: 'Pics', memberIds: ['bob'] });

    const received = next(bob, 'message', (m) => m.kind === 'photo');
    const blob = new Blob([await png(20, 10)], { type: 'image/png' });
    const ack = await alice.sendPhoto(blob, { groupId: group.id });
    const [photo] = await received;
    expect(photo).toEqual(expect.objectContaining({ id: ack.messageId, threadId: `group:${group.id}` }));
    expect(photo.media?.width).toBe(20);

    await expect(alice.sendPhoto(await png(8, 8), {})).rejects.toBeInstanceOf(ValidationError);
    await expect(alice.sendPhoto(await png(8, 8), { to: 'bob', groupId: group.id })).rejects.toBeInstanceOf(
      ValidationError,
    );
    const notAnImage = new TextEncoder().encode('<svg onload="alert(1)"></svg>');
    await expect(alice.sendPhoto(notAnImage, { to: 'bob' })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(alice.sendPhoto(await png(8, 8), { to: 'nobody' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('waits out a 429 on the upload (Retry-After, on the injected clock) with the token in a header', async () => {
    const server = await start();
    const clock = new ManualClock(Date.now());
    const uploads: { authorization: string | null; url: string }[] = [];
    let refuseNext = true;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (init?.method === 'POST' && String(input).endsWith('/media')) {
        uploads.push({ url: String(input), authorization: new Headers(init.headers).get('authorization') });
        if (refuseNext) {
          refuseNext = false;
          const body = JSON.stringify({ code: 'RATE_LIMITED', message: 'slow down' });
          return new Response(body, { status: 429, headers: { 'Retry-After': '2' } });
        }
      }
      return globalThis.fetch(input, init);
    };
    const alice = client(server, 'alice', { clock, fetch });
    const sending = alice.sendPhoto(await png(16, 16), { to: 'bob' });
    while (clock.pending === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(uploads).toHaveLength(1);
    clock.advance(1_999);
    expect(uploads).toHaveLength(1);
    clock.advance(1);
    await alice.connect();
    const ack = await sending;
    expect(ack.threadId).toBe('dm:alice:bob');
    expect(uploads).toHaveLength(2);
    for (const u of uploads) {
      expect(u.url).not.toContain('token');
      expect(u.authorization).toMatch(/^Bearer /);
    }
  });
});

describe('ChatClient requests across a dropped connection', () => {
  it('a request whose answer is lost with its socket goes again on the next connection and resolves', async () => {
    const server = await start();
    const sockets: WebSocket[] = [];
    let swallow = true;
    // The first `settings` answer never reaches the client: its socket is cut instead.
    const Dropping: WebSocketConstructor = class implements WebSocketLike {
      readonly ws: WebSocket;
      constructor(url: string) {
        this.ws = new WebSocket(url);
        this.ws.on('error', () => undefined);
        sockets.push(this.ws);
      }
      get readyState(): number {
        return this.ws.readyState;
      }
      send(data: string): void {
        this.ws.send(data);
      }
      close(code?: number): void {
        this.ws.close(code);
      }
      addEventListener(type: string, listener: (event: never) => void): void {
        const call = listener as (event: unknown) => void;
        if (type !== 'message') return void this.ws.addEventListener(type as 'open', call);
        this.ws.addEventListener('message', (event) => {
          const frame = JSON.parse(String(event.data)) as { type: string };
          if (frame.type === 'settings' && swallow) {
            swallow = false;
            this.ws.terminate();
            return;
          }
          call(event);
        });
      }
    };
    const alice = client(server, 'alice', { WebSocket: Dropping });
    await alice.connect();
    const reconnected = next(alice, 'connected');
    const settings = await alice.updateSettings({ previews: false });
    await reconnected;
    expect(settings.previews).toBe(false);
    expect(sockets).toHaveLength(2);
    expect(alice.pending).toBe(0);
  });

  it('re-publishes the session events, in order, and a refusal is the typed error', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    const events: string[] = [];
    for (const name of ['connected', 'ack', 'message-sent', 'receipt', 'presence'] as const) {
      alice.on(name, () => events.push(name));
    }
    await Promise.all([alice.connect(), bob.connect()]);
    const delivered = next(alice, 'receipt');
    await alice.send({ to: 'bob', text: 'are you there?' });
    await delivered;
    await alice.subscribePresence(['bob']);
    expect(events).toEqual(['connected', 'ack', 'message-sent', 'receipt', 'presence']);
    expect(alice.presenceOf('bob')).toEqual(expect.objectContaining({ userId: 'bob' }));

    const refused = alice.typing('dm:alice:nobody', true);
    await expect(refused).rejects.toBeInstanceOf(NotFoundError);
    await expect(refused).rejects.toMatchObject({ code: 'NOT_FOUND', name: 'NotFoundError' });
  });
});
