/**
 * The client SDK: one device of one user over WebSocket or HTTP long-poll, that reconnects by itself and never
 * loses its place, with a typed method for every request of the protocol and a typed event for everything the
 * server tells.
 *
 * @module
 */
import type { ChatRoomError, FeedEntry, Message, MessageChange, PresenceRecord } from '../domain';
import { ChatFeed, DELETED_PREVIEW, ValidationError, messagePreview } from '../domain';
import type { Clock } from '../ports';
import type { ContactResult, GroupSnapshot, SettingsSnapshot } from '../protocol';
import type { FeedChange, HistoryPage } from '../services';
import type { Ack, ChatSession, ChatSessionEvents, SettingsChange } from '../session';
import { Observable } from '../util/observable';
import type { BackoffOptions } from './backoff';
import { ClientConnection } from './client-connection';
import type { FetchLike } from './long-poll-client-transport';
import { downloadMedia, uploadMedia } from './media-requests';
import type { WebSocketConstructor } from './websocket-client-transport';

/** A way a `ChatClient` reaches the server. */
export type TransportKind = 'websocket' | 'long-poll';

/** Which transports a `ChatClient` may use: `'auto'` tries WebSocket and falls back to long-poll. */
export type TransportChoice = 'auto' | TransportKind;

/** Options of a `ChatClient`. */
export interface ChatClientOptions {
  /**
   * The server, as its WebSocket URL (`ws://localhost:8080/`, a `ChatServer`'s `url`) or its HTTP URL
   * (`http://localhost:8080/`, its `httpUrl`): the other is derived by swapping the scheme (ws ↔ http, wss ↔ https).
   * Or a list of the nodes of one cluster: an attempt that cannot reach one (no hello) goes on to the next at once,
   * resuming from the cursor; after a whole round of failures the client backs off.
   */
  readonly url: string | readonly string[];
  /**
   * How to reach the server. `'auto'` (the default) tries a WebSocket on each connection attempt and, when it ends
   * before the server greeted it (a proxy that refuses the upgrade, a server without WebSocket), long-poll at once;
   * once long-poll worked, the client stays on it. `'websocket'` and `'long-poll'` use only that one.
   */
  readonly transport?: TransportChoice;
  /** The `fetch` function long-poll and photos use; default `globalThis.fetch`. */
  readonly fetch?: FetchLike;
  /** The bearer token, or a function asked for a fresh one before each connection and photo request. */
  readonly token: string | (() => string | Promise<string>);
  /** This device; the server keeps a cursor per device. Default `'default'`. */
  readonly deviceId?: string;
  /** Whether the app is in the foreground (online). Default true. */
  readonly foreground?: boolean;
  /**
   * The WebSocket constructor; default `globalThis.WebSocket` (browsers, Node ≥ 22). In Node 20 pass `ws`'s;
   * without one, `'auto'` uses long-poll only.
   */
  readonly WebSocket?: WebSocketConstructor;
  /** The clock backoff delays, request timeouts and `Retry-After` waits run on. Default: the real one. */
  readonly clock?: Clock;
  /** Reconnect backoff; any field left out takes its default (`DEFAULT_BACKOFF`). */
  readonly backoff?: Partial<BackoffOptions>;
  /** A source of numbers in [0, 1) for the jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Start after this `inboxSeq` instead of the cursor the server saved for the device. */
  readonly cursor?: number;
  /** The title of a thread new to the local feed. Default: the thread's id. */
  readonly titleOf?: (threadId: string) => string;
  /** How long a request waits for its answer before it is retried (ms). Default 30 000. */
  readonly requestTimeoutMs?: number;
}

/** Every session event but the two a client words itself (`error`, wider; `disconnected`, its connection's). */
type ForwardedSessionEvents = {
  [K in keyof ChatSessionEvents as K extends 'error' | 'disconnected' ? never : K]: ChatSessionEvents[K];
};

/**
 * What a `ChatClient` tells its listeners: every event of its session (`message`, `message-sent`, `ack`,
 * `change`, `receipt`, `presence`, `feed-changed`, `typing`, `push`, `resync-required`, and any a session adds),
 * carried on across reconnects, and its own connection events (`connected`, `disconnected`, `reconnecting`,
 * `error`).
 */
export interface ChatClientEvents extends ForwardedSessionEvents {
  [event: string]: unknown[];
  /** The server greeted the client and it caught up with its inbox; `transport` says how the client is connected. */
  connected: [info: { userId: string; deviceId: string; cursor: number; transport: TransportKind }];
  /** A connection, or an attempt at one, ended. */
  disconnected: [reason: string];
  /** The next attempt is scheduled. */
  reconnecting: [info: { attempt: number; delayMs: number }];
  /** The cursor was older than the server keeps: the client starts again from the oldest entry kept. */
  'resync-required': [error: ChatRoomError];
  /** Something failed that no caller is waiting for (a refused frame, a token provider that threw). */
  error: [error: Error];
}

/** Where a message goes: a user (`to`) or a group (`groupId`), exactly one of the two. */
export interface Destination {
  readonly to?: string;
  readonly groupId?: string;
}

/** What `ChatClient.send` takes. */
export interface SendInput extends Destination {
  readonly text: string;
  /** The idempotency key; default a random UUID, fixed when `send` is called. */
  readonly clientMessageId?: string;
  /** The id of the message of the same thread this one answers: the stored message quotes it. */
  readonly replyTo?: string;
}

/** Options of the changes to a message (`edit`, `deleteMessage`, `react`). */
export interface ChangeOptions {
  /** The idempotency key; default a random UUID, fixed when the method is called. */
  readonly clientChangeId?: string;
}

/** Options of `ChatClient.sendPhoto`. */
export interface SendPhotoOptions extends Destination {
  /** The text shown under the photo. */
  readonly caption?: string;
  /** The idempotency key; default a random UUID, fixed before the upload. */
  readonly clientMessageId?: string;
}

/**
 * A chat device over WebSocket or HTTP long-poll, in Node or in a browser. It connects, resumes from its cursor so
 * every message arrives exactly once and in order, acknowledges delivery by itself, reconnects with jittered
 * exponential backoff, and keeps each request until the server answered it — a send retried across a reconnect
 * is stored once (its `clientMessageId` is fixed when it is called). A local `ChatFeed` follows what arrives, what
 * is sent, read, edited or deleted, and what this or another device of the user pinned, archived or marked unread.
 *
 * Every request of the protocol has a method that waits for a connection, goes again on the next one when the
 * link drops before the answer, and resolves with the server's answer or rejects with the typed error of its
 * refusal (`ValidationError`, `NotFoundError`, `PermissionError`…): messages (`send`, `reply`, `sendPhoto`,
 * `edit`, `deleteMessage`, `react`, `history`, `markRead`, `typing`), the chat list (`feedTop`, `pin`,
 * `markUnread`, `archive`), groups (`createGroup`, `addGroupMembers`, `removeGroupMember`, `leaveGroup`,
 * `promoteGroupMember`), contacts (`addContact`, `searchContacts`), settings (`getSettings`, `updateSettings`),
 * presence (`subscribePresence`, `active`) and the app's state (`setForeground`). Sends and changes to messages
 * carry an idempotency key fixed when they are called, so one retried across a reconnect applies once.
 *
 * By default (`transport: 'auto'`) each connection attempt tries a WebSocket first and falls back to long-poll at
 * once when the socket ends before the server's hello; `useTransport` switches on demand, and the `connected`
 * event and the `transport` getter say which one is in use. In a browser, import the ES module build (the
 * package's `browser` and `import` conditions): it bundles its dependencies and uses no Node built-in.
 *
 * Pattern: Observer — the client re-publishes every event of whichever session is current.
 *
 * @example
 * ```ts
 * import { ChatClient } from 'chat-room/client'
 * const client = new ChatClient({ url: 'wss://chat.example.com/', token: () => fetchToken(), deviceId: 'web' })
 * client.on('message', (m) => console.log(`${m.senderId}: ${m.text}`))
 * client.on('typing', ({ threadId, userId, typing }) => console.log(threadId, userId, typing))
 * await client.connect()
 * const ack = await client.send({ to: 'bob', text: 'hi' })
 * await client.markRead(ack.threadId, ack.seq)
 * await client.react(ack.messageId, '👋')
 * client.on('change', (c) => console.log(`${c.userId} changed ${c.messageId}: ${c.kind}`))
 * const group = await client.createGroup({ name: 'Trip', memberIds: ['bob', 'carol'] })
 * await client.sendPhoto(photoBytes, { groupId: group.id, caption: 'the view' })
 * await client.updateSettings({ lastSeen: 'contacts' })
 * client.on('connected', ({ transport }) => console.log(`connected over ${transport}`))
 * await client.useTransport('long-poll') // e.g. after sockets kept dropping on this network
 * ```
 */
export class ChatClient extends Observable<ChatClientEvents> {
  /** The chat list, as this client has seen it. */
  readonly feed = new ChatFeed();
  readonly deviceId: string;

  readonly #connection: ClientConnection;
  readonly #titleOf: (threadId: string) => string;

  /**
   * Creates a client; nothing connects until `connect()`.
   *
   * @param options - url, token, device, transport, WebSocket constructor, fetch, clock, backoff
   * @throws ValidationError when an option is malformed
   * @throws TypeError when the transport chosen has no implementation (no WebSocket for `'websocket'`, no fetch
   *   for `'long-poll'`, neither for `'auto'`)
   */
  constructor(options: ChatClientOptions) {
    super();
    this.#connection = new ClientConnection(options, (event, args) => this.#publish(event, args));
    this.deviceId = this.#connection.deviceId;
    this.#titleOf = options.titleOf ?? ((threadId) => threadId);
  }

  /** The user, once the server said who the token belongs to. */
  get userId(): string | undefined {
    return this.#connection.userId;
  }

  /** The last `inboxSeq` applied on this device (0 before the first connection). */
  get cursor(): number {
    return this.#connection.cursor;
  }

  /** Whether a connection is up and caught up. */
  get connected(): boolean {
    return this.#connection.connected;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#connection.closed;
  }

  /** The transport the current connection uses; `undefined` while not connected. */
  get transport(): TransportKind | undefined {
    return this.#connection.transport;
  }

  /** How many sends and requests wait for a connection or an answer. */
  get pending(): number {
    return this.#connection.pending;
  }

  /**
   * Connects (once; later calls wait for the same connection) and resolves when the server greeted the client
   * and it caught up with its inbox. Attempts that fail are retried with backoff.
   *
   * @throws TransportError when the client is closed before it connected
   */
  connect(): Promise<void> {
    return this.#connection.connect();
  }

  /**
   * Sends a message; resolves with the server's ack (the single check). The `clientMessageId` is fixed now: when
   * the connection drops before the ack, the same send goes again on the next connection and the server stores
   * it once.
   *
   * @param input - `to` (a user) or `groupId`, the text, an optional idempotency key, and `replyTo`: the id of
   *   the message of the same thread it answers
   * @throws ValidationError, NotFoundError, PermissionError as the server refuses
   * @throws TransportError when the client is closed before the ack
   */
  send(input: SendInput): Promise<Ack> {
    if (typeof input !== 'object' || input === null) {
      return Promise.reject(new ValidationError('send needs an object'));
    }
    const request = {
      ...destination(input),
      text: input.text,
      clientMessageId: input.clientMessageId ?? globalThis.crypto.randomUUID(),
      ...(input.replyTo === undefined ? {} : { replyTo: input.replyTo }),
    };
    return this.#connection.enqueue(async (session) => {
      const ack = await session.send(request);
      const preview = messagePreview({ kind: 'text', text: request.text });
      this.#record(ack.threadId, { seq: ack.seq, at: ack.sentAt, preview, incoming: false });
      return ack;
    });
  }

  /**
   * Answers a message: a `send` whose stored message quotes the one it answers (who, what kind, its first words).
   *
   * @param messageId - the message answered, of the thread `to` or `groupId` names
   * @param input - `to` (a user) or `groupId`, the text, an optional idempotency key
   * @throws ValidationError when the message is of another thread or was deleted, NotFoundError, PermissionError
   * @throws TransportError when the client is closed before the ack
   */
  reply(messageId: string, input: Omit<SendInput, 'replyTo'>): Promise<Ack> {
    if (typeof input !== 'object' || input === null) {
      return Promise.reject(new ValidationError('reply needs an object'));
    }
    return this.send({ ...input, replyTo: messageId });
  }

  /**
   * Edits a text message this user sent, within the edit window (15 minutes by default). Resolves when the server
   * applied it; every member's devices, this one too, get a `change` event.
   *
   * @param messageId - the message
   * @param text - the new text
   * @param options - `clientChangeId`: a retry across a reconnect edits once
   * @throws ValidationError (a photo, a deleted message), NotFoundError, PermissionError (someone else's, too
   *   late) as the server refuses
   */
  edit(messageId: string, text: string, options: ChangeOptions = {}): Promise<void> {
    const change = { clientChangeId: options?.clientChangeId ?? globalThis.crypto.randomUUID() };
    return this.#connection.enqueue((session) => session.edit(messageId, text, change));
  }

  /**
   * Deletes a message for everyone (this user's own within the delete window, 48 hours by default; any, for a
   * group admin): it becomes a tombstone on every device. With `forEveryone: false`, hides it from this user's
   * history on all their devices. Resolves when the server applied it; a `change` event follows.
   *
   * @param messageId - the message
   * @param options - `forEveryone`, and `clientChangeId`
   * @throws ValidationError, NotFoundError, PermissionError as the server refuses
   */
  deleteMessage(messageId: string, options: { forEveryone: boolean } & ChangeOptions): Promise<void> {
    if (typeof options !== 'object' || options === null || typeof options.forEveryone !== 'boolean') {
      return Promise.reject(new ValidationError('deleteMessage needs { forEveryone: true | false }'));
    }
    const change = {
      forEveryone: options.forEveryone,
      clientChangeId: options.clientChangeId ?? globalThis.crypto.randomUUID(),
    };
    return this.#connection.enqueue((session) => session.deleteMessage(messageId, change));
  }

  /**
   * Sets this user's reaction to a message (one emoji; a new one replaces the old), or takes it back (`null`).
   * Resolves when the server applied it; a `change` event follows.
   *
   * @param messageId - the message
   * @param emoji - exactly one emoji, or `null`
   * @param options - `clientChangeId`
   * @throws ValidationError (not one emoji, a deleted message), NotFoundError, PermissionError as the server refuses
   */
  react(messageId: string, emoji: string | null, options: ChangeOptions = {}): Promise<void> {
    const change = { clientChangeId: options?.clientChangeId ?? globalThis.crypto.randomUUID() };
    return this.#connection.enqueue((session) => session.react(messageId, emoji, change));
  }

  /**
   * A page of a thread's history from the server, newest first: messages older than `before` (a seq), at most
   * `limit` (default 50, at most 200), since this user joined, without those they deleted for themselves.
   *
   * @param threadId - the thread
   * @param options - `before` and `limit`
   * @returns the messages and whether older ones remain
   * @throws ValidationError, NotFoundError as the server refuses
   *
   * @example
   * ```ts
   * import { ChatClient } from 'chat-room/client'
   * const client = new ChatClient({ url: 'wss://chat.example.com/', token })
   * let page = await client.history('dm:alice:bob', { limit: 50 })
   * while (page.hasMore) page = await client.history('dm:alice:bob', { before: page.messages.at(-1)!.seq })
   * ```
   */
  history(threadId: string, options: { before?: number; limit?: number } = {}): Promise<HistoryPage> {
    const request = { ...options };
    return this.#connection.enqueue((session) => session.history(threadId, request));
  }

  /**
   * Sends a photo: uploads it (`POST /media`, the token in the `Authorization` header; a `429` is waited out, a few
   * times), then sends the message that shows it; resolves with the ack. The upload happens once; the message,
   * like `send`'s, goes again with the same `clientMessageId` when the connection drops before its ack.
   *
   * @param photo - the image's bytes, or a `Blob` (a `File` from an `<input type="file">`)
   * @param options - `to` (a user) or `groupId`, an optional caption and idempotency key
   * @throws ValidationError when the destination is missing or doubled, or the server refuses the image
   * @throws PayloadTooLargeError, RateLimitError when the upload is over the server's limits
   * @throws NotFoundError, PermissionError as the server refuses the message
   * @throws TransportError when the server cannot be reached for the upload, or the client is closed
   *
   * @example
   * ```ts
   * import { ChatClient } from 'chat-room/client'
   * const client = new ChatClient({ url: 'https://chat.example.com/', token })
   * const file = document.querySelector('input[type=file]').files[0]
   * const ack = await client.sendPhoto(file, { to: 'bob', caption: 'look!' })
   * ```
   */
  async sendPhoto(photo: Uint8Array | Blob, options: SendPhotoOptions): Promise<Ack> {
    if (typeof options !== 'object' || options === null) {
      throw new ValidationError('sendPhoto needs options with `to` or `groupId`');
    }
    if ((options.to === undefined) === (options.groupId === undefined)) {
      throw new ValidationError(
        'sendPhoto needs `to` (a user) or `groupId` (a group), exactly one of the two',
      );
    }
    const clientMessageId = options.clientMessageId ?? globalThis.crypto.randomUUID();
    const media = await uploadMedia(await this.#http(), photo);
    const caption = options.caption;
    return this.#connection.enqueue(async (session) => {
      const ack = await session.sendPhoto({
        ...destination(options),
        media,
        ...(caption === undefined ? {} : { caption }),
        clientMessageId,
      });
      const preview = messagePreview({ kind: 'photo', text: caption ?? '' });
      this.#record(ack.threadId, { seq: ack.seq, at: ack.sentAt, preview, incoming: false });
      return ack;
    });
  }

  /**
   * A photo's bytes, for a member of a conversation it was sent in, or its uploader. The token goes in the
   * `Authorization` header, never in the URL; in a browser, show the photo with
   * `URL.createObjectURL(new Blob([bytes], { type: mimeType }))` (the server answers CORS for allowed origins). A
   * `429` is waited out (`Retry-After`) and retried, a few times.
   *
   * @param mediaId - the photo's (or its thumbnail's) id, from a message
   * @throws ValidationError when the id is malformed
   * @throws NotFoundError when there is no such photo, or this user may not see it (the same answer)
   * @throws TransportError when the server cannot be reached
   * @throws TypeError when there is no `fetch`
   */
  async fetchMedia(mediaId: string): Promise<{ bytes: Uint8Array; mimeType: string }> {
    return downloadMedia(await this.#http(), mediaId);
  }

  /**
   * Marks a thread read up to a seq (the blue checks for its senders) in the local feed now, and on the server as
   * soon as it is connected; resolves when the server applied it.
   *
   * @param threadId - the thread
   * @param upToSeq - the highest seq seen
   */
  markRead(threadId: string, upToSeq: number): Promise<void> {
    try {
      if (this.feed.has(threadId)) this.feed.markRead(threadId, upToSeq);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return this.#connection.enqueue((session) => session.markRead(threadId, upToSeq));
  }

  /**
   * Tells the other members of a thread that the user started (`true`) or stopped (`false`) typing; they get a
   * `typing` event. Repeat `true` every few seconds while the user types: a state ends by itself 5 s after the
   * last one.
   *
   * @param threadId - the thread
   * @param typing - whether the user is typing
   * @throws NotFoundError when the user is not in the thread
   */
  typing(threadId: string, typing: boolean): Promise<void> {
    if (typeof typing !== 'boolean')
      return Promise.reject(new ValidationError('typing must be true or false'));
    return this.#connection.enqueue((session) => session.typing(threadId, typing));
  }

  /**
   * Creates a group this user owns. A connection that drops after the server created it but before its answer
   * arrived creates it again on the next one: the protocol has no idempotency key for groups.
   *
   * @param input - the name, and the other first members (default none)
   * @returns the group as created (`id`, `memberIds`, `adminIds`…)
   * @throws ValidationError, NotFoundError as the server refuses (a name too long, an unknown member)
   */
  createGroup(input: { name: string; memberIds?: readonly string[] }): Promise<GroupSnapshot> {
    if (typeof input !== 'object' || input === null) {
      return Promise.reject(new ValidationError('createGroup needs an object'));
    }
    const request = { name: input.name, memberIds: [...(input.memberIds ?? [])] };
    return this.#connection.enqueue((session) => session.createGroup(request));
  }

  /**
   * Adds members to a group (admins only).
   *
   * @param groupId - the group
   * @param userIds - who joins
   * @returns the group as it is now
   * @throws NotFoundError, PermissionError, ValidationError as the server refuses
   */
  addGroupMembers(groupId: string, userIds: readonly string[]): Promise<GroupSnapshot> {
    const ids = Array.isArray(userIds) ? [...userIds] : userIds;
    return this.#connection.enqueue((session) => session.addGroupMembers(groupId, ids));
  }

  /**
   * Removes a member from a group (admins only).
   *
   * @param groupId - the group
   * @param userId - who is removed
   * @returns the group as it is now
   * @throws NotFoundError, PermissionError as the server refuses
   */
  removeGroupMember(groupId: string, userId: string): Promise<GroupSnapshot> {
    return this.#connection.enqueue((session) => session.removeGroupMember(groupId, userId));
  }

  /**
   * Leaves a group.
   *
   * @param groupId - the group
   * @returns the group as it is now, without this user
   * @throws NotFoundError when the user is not in the group
   */
  leaveGroup(groupId: string): Promise<GroupSnapshot> {
    return this.#connection.enqueue((session) => session.leaveGroup(groupId));
  }

  /**
   * Makes a member an admin (admins only).
   *
   * @param groupId - the group
   * @param userId - the member
   * @returns the group as it is now
   * @throws NotFoundError, PermissionError as the server refuses
   */
  promoteGroupMember(groupId: string, userId: string): Promise<GroupSnapshot> {
    return this.#connection.enqueue((session) => session.promoteGroupMember(groupId, userId));
  }

  /**
   * Adds a user to this user's contacts (who may then see their presence and find them by name).
   *
   * @param userId - the user
   * @throws NotFoundError when there is no such user
   */
  addContact(userId: string): Promise<void> {
    return this.#connection.enqueue((session) => session.addContact(userId));
  }

  /**
   * Searches users by name or handle: among this user's contacts, or with `global` among the users who chose to
   * be discoverable (a word of at least 3 characters, at most 20 results, 30 global searches a minute).
   *
   * @param query - the words
   * @param options - the most results, and whether to search globally
   * @returns the best matches first
   * @throws ValidationError, RateLimitError as the server refuses
   */
  searchContacts(
    query: string,
    options: { limit?: number; global?: boolean } = {},
  ): Promise<readonly ContactResult[]> {
    const request = { ...options };
    return this.#connection.enqueue((session) => session.searchContacts(query, request));
  }

  /** This user's settings: read receipts, previews, last seen, discoverable, mutes and blocks. */
  getSettings(): Promise<SettingsSnapshot> {
    return this.#connection.enqueue((session) => session.getSettings());
  }

  /**
   * Changes one setting; the server applies it whole or refuses it.
   *
   * @param change - exactly one field: `{ readReceipts: false }`, `{ lastSeen: 'contacts' }`,
   *   `{ discoverable: true }`, `{ mute: { threadId, until } }`, `{ unmute: { threadId } }`, `{ block: userId }`…
   * @returns the settings as they are now
   * @throws ValidationError when the change is malformed or carries more than one field
   *
   * @example
   * ```ts
   * import { ChatClient } from 'chat-room/client'
   * const client = new ChatClient({ url: 'wss://chat.example.com/', token })
   * const { muted } = await client.updateSettings({ mute: { threadId: 'group:trip', until: Date.now() + 3_600_000 } })
   * ```
   */
  updateSettings(change: SettingsChange): Promise<SettingsSnapshot> {
    if (typeof change !== 'object' || change === null) {
      return Promise.reject(new ValidationError('updateSettings needs an object with one change'));
    }
    const request = { ...change };
    return this.#connection.enqueue((session) => session.updateSettings(request));
  }

  /**
   * The top of this user's chat list as the server keeps it (pinned first, then latest activity, with unread
   * counts, `pinned`, `archived` and `markedUnread`), or of the archive with `archived: true`: what a device that
   * was away reads to catch up with the choices made elsewhere.
   *
   * @param options - `limit` (default 20) and `archived`
   * @throws ValidationError when an option is malformed
   */
  feedTop(options: { limit?: number; archived?: boolean } = {}): Promise<readonly FeedEntry[]> {
    const request = { ...options };
    return this.#connection.enqueue((session) => session.feedTop(request));
  }

  /**
   * Pins a thread to the top of the chat list (bringing it back from the archive), or unpins it: in the local feed
   * now, on the server as soon as it is connected. The user's other devices get a `feed-changed` event.
   *
   * @param threadId - a thread of the chat list
   * @param pinned - pin (true) or unpin (false)
   * @throws NotFoundError when the user is not in the thread
   */
  pin(threadId: string, pinned: boolean): Promise<void> {
    return this.#feedChoice(
      threadId,
      pinned,
      (feed) => (pinned ? feed.pin(threadId) : feed.unpin(threadId)),
      (s) => s.pin(threadId, pinned),
    );
  }

  /**
   * Marks a thread unread (it shows at least 1 unread until read again), or clears the mark: locally now, on the
   * server once connected. The user's other devices get a `feed-changed` event.
   *
   * @param threadId - a thread of the chat list
   * @param unread - mark (true) or clear the mark (false)
   * @throws NotFoundError when the user is not in the thread
   */
  markUnread(threadId: string, unread: boolean): Promise<void> {
    return this.#feedChoice(
      threadId,
      unread,
      (feed) => (unread ? feed.markUnread(threadId) : feed.clearUnreadMark(threadId)),
      (s) => s.markUnread(threadId, unread),
    );
  }

  /**
   * Archives a thread (out of the main list, unpinned; new messages leave it there), or brings it back: locally
   * now, on the server once connected. The user's other devices get a `feed-changed` event.
   *
   * @param threadId - a thread of the chat list
   * @param archived - archive (true) or unarchive (false)
   * @throws NotFoundError when the user is not in the thread
   */
  archive(threadId: string, archived: boolean): Promise<void> {
    return this.#feedChoice(
      threadId,
      archived,
      (feed) => (archived ? feed.archive(threadId) : feed.unarchive(threadId)),
      (s) => s.archive(threadId, archived),
    );
  }

  /**
   * Moves the app to the foreground (online: messages arrive live) or the background (away: push notifications
   * instead), on this connection and every later one.
   *
   * @param foreground - where the app is now
   * @throws ValidationError when `foreground` is not a boolean
   */
  setForeground(foreground: boolean): Promise<void> {
    if (typeof foreground !== 'boolean') {
      return Promise.reject(new ValidationError('foreground must be true or false'));
    }
    return this.#connection.setForeground(foreground);
  }

  /**
   * Follows the presence of these users (replacing the set followed before), now and after every reconnect.
   * Resolves after the snapshot arrived as a `presence` event.
   *
   * @param userIds - every user shown now
   */
  subscribePresence(userIds: readonly string[]): Promise<void> {
    if (!Array.isArray(userIds)) return Promise.reject(new ValidationError('userIds must be an array'));
    return this.#connection.subscribePresence(userIds);
  }

  /**
   * The latest presence heard for a followed user on the current connection.
   *
   * @param userId - the user
   */
  presenceOf(userId: string): PresenceRecord | undefined {
    return this.#connection.presenceOf(userId);
  }

  /** Tells the server the user is active, when connected. */
  active(): void {
    this.#connection.active();
  }

  /**
   * Switches transport now and keeps using it on every later connection (no fallback): hangs up the current
   * connection (or attempt) and connects over `kind` at once. Sends and requests still waiting carry on over the
   * new connection with the same `clientMessageId`, and the cursor carries over, so nothing is lost, repeated or
   * reordered. Emits `disconnected` (`switching to <kind>`) for the connection it hangs up, then `connected`
   * with the new `transport`. Also starts the client when `connect()` was not called yet.
   *
   * @param kind - `'websocket'` or `'long-poll'`
   * @returns resolves when connected (greeted and caught up) over `kind`
   * @throws ValidationError when `kind` is neither, TypeError when it has no implementation here
   * @throws TransportError when the client is closed before it connected
   */
  useTransport(kind: TransportKind): Promise<void> {
    return this.#connection.useTransport(kind);
  }

  /** Hangs up for good: no reconnect; sends and requests still waiting reject with a `TransportError`. */
  close(): void {
    this.#connection.close();
  }

  /** What a photo request needs, with a fresh token. */
  async #http(): Promise<Parameters<typeof uploadMedia>[0]> {
    const { httpUrl, clock, fetch } = this.#connection;
    return { baseUrl: httpUrl, token: await this.#connection.token(), fetch, clock };
  }

  /** A chat-list choice: in the local feed now (when the thread is in it), then on the server. */
  #feedChoice(
    threadId: string,
    value: boolean,
    local: (feed: ChatFeed) => unknown,
    remote: (session: ChatSession) => Promise<void>,
  ): Promise<void> {
    if (typeof value !== 'boolean')
      return Promise.reject(new ValidationError('the choice must be true or false'));
    try {
      if (this.feed.has(threadId)) local(this.feed);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return this.#connection.enqueue(remote);
  }

  /** Every event of the connection and its sessions: the local feed follows, then the app hears it. */
  #publish(event: string, args: readonly unknown[]): void {
    try {
      if (event === 'message' || event === 'message-sent') {
        const m = args[0] as Message;
        const incoming = event === 'message';
        this.#record(m.threadId, { seq: m.seq, at: m.sentAt, preview: messagePreview(m), incoming });
      } else if (event === 'change') {
        this.#changed(args[0] as MessageChange);
      } else if (event === 'feed-changed') {
        this.#feedChanged(args[0] as FeedChange);
      }
    } catch (e) {
      this.emit('error', e instanceof Error ? e : new Error(String(e)));
    }
    this.emit(event, ...(args as unknown[]));
  }

  /** An edit or a delete for everyone shows in the chat list when it is of the thread's latest message. */
  #changed(change: MessageChange): void {
    if (change.kind === 'edit') {
      this.feed.updatePreview(
        change.threadId,
        change.seq,
        messagePreview({ kind: 'text', text: change.text ?? '' }),
      );
    } else if (change.kind === 'delete') {
      this.feed.updatePreview(change.threadId, change.seq, DELETED_PREVIEW);
    }
  }

  /** Another device pinned, archived or marked a thread: the local feed takes the same place. */
  #feedChanged(change: FeedChange): void {
    const { threadId } = change;
    if (!this.feed.has(threadId)) return;
    // Archiving unpins and pinning unarchives: the archive first, so the pin that follows is the one asked.
    if (change.archived) this.feed.archive(threadId);
    else this.feed.unarchive(threadId);
    if (change.pinned) this.feed.pin(threadId);
    else if (this.feed.get(threadId)?.pinned === true) this.feed.unpin(threadId);
    if (change.markedUnread) this.feed.markUnread(threadId);
    else this.feed.clearUnreadMark(threadId);
  }

  #record(threadId: string, m: { seq: number; at: number; preview: string; incoming: boolean }): void {
    try {
      this.feed.recordMessage(
        threadId,
        this.feed.has(threadId) ? m : { ...m, title: this.#titleOf(threadId) },
      );
    } catch (e) {
      this.emit('error', e instanceof Error ? e : new Error(String(e)));
    }
  }
}

/** The `to` or `groupId` of an input, without the one that is absent. */
function destination(input: Destination): Destination {
  return {
    ...(input.to === undefined ? {} : { to: input.to }),
    ...(input.groupId === undefined ? {} : { groupId: input.groupId }),
  };
}
