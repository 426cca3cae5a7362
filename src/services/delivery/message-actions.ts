import type { ChatThread, MessageChange, MessageChangeKind, MessageData } from '../../domain';
import {
  DEFAULT_DELETE_WINDOW_MS,
  DEFAULT_EDIT_WINDOW_MS,
  PermissionError,
  ValidationError,
  requireBoolean,
  requireKey,
  requireObject,
  requirePositiveInt,
  requireReaction,
  requireText,
  withinWindow,
} from '../../domain';
import type { Clock, MessageStore } from '../../ports';
import type { DeviceOutbox } from '../device-outbox';
import type { ConversationDirectory, UserDirectory } from '../directory';
import { messageNotFound } from '../directory';
import type { NotificationCenter } from '../notification-center';
import type { FeedService } from './feed-service';

/** How long after sending a message its sender may still change it (ms). */
export interface MessageWindows {
  /** Edit a text message. Default 15 minutes ({@link DEFAULT_EDIT_WINDOW_MS}). */
  readonly editWindowMs: number;
  /** Delete a message for everyone (group admins have no limit). Default 48 hours. */
  readonly deleteWindowMs: number;
}

/** How many messages a history page holds unless asked otherwise. */
export const DEFAULT_HISTORY_LIMIT = 50;

/** The most messages one history page holds. */
export const MAX_HISTORY_LIMIT = 200;

/** The longest `clientChangeId` (a frame's `ref` may stand in for it). */
const MAX_CLIENT_CHANGE_ID_LENGTH = 128;

/** What the message actions compose. */
export interface MessageActionsDeps {
  readonly store: MessageStore;
  readonly clock: Clock;
  readonly users: UserDirectory;
  readonly conversations: ConversationDirectory;
  readonly feeds: FeedService;
  /** Where change entries for connected devices go. */
  readonly outbox: DeviceOutbox;
  readonly events: NotificationCenter;
  /** The longest text an edit may set: the same as a send's. */
  readonly maxTextLength: number;
  /** Windows to change; the others keep their defaults. */
  readonly windows?: Partial<MessageWindows> | undefined;
  /** Makes a change's idempotency key when the caller gives none. */
  readonly newClientChangeId: () => string;
}

/** The idempotency key of a change: a retry with the same key changes nothing more. Made up when left out. */
export interface ChangeOptions {
  readonly clientChangeId?: string | undefined;
}

/** A delete: for everyone (a tombstone in every store), or for the user only (hidden from their lists). */
export interface DeleteOptions extends ChangeOptions {
  readonly forEveryone: boolean;
}

/** Which page of a thread's history to read. */
export interface HistoryOptions {
  /** Only messages older than this seq (the oldest one shown so far); the newest when left out. */
  readonly before?: number | undefined;
  /** How many messages, 1 to {@link MAX_HISTORY_LIMIT}; default {@link DEFAULT_HISTORY_LIMIT}. */
  readonly limit?: number | undefined;
}

/** A page of a thread's history, newest first. */
export interface HistoryPage {
  readonly threadId: string;
  /** Newest first; tombstones included, the messages the user deleted for themselves left out. */
  readonly messages: readonly MessageData[];
  /** Whether older messages (that the user may see) remain. */
  readonly hasMore: boolean;
}

/**
 * What members do to messages after they were sent: edit (the sender, text only, within a window), delete for
 * everyone (the sender within a window, a group admin any time) or for themselves, react with one emoji; and
 * read a thread's history page by page, from the time they joined.
 *
 * Every change is checked in full first (so a refused one changes nothing), then written by the store with one
 * `change` entry per member who received the message, plus the actor's own (a `hide` only to the actor's own
 * inbox). Like receipts, those entries go live to foreground sessions — the actor's other devices too — and wait
 * in the inbox for the others; a change never makes a push, never counts as unread and never reorders a chat
 * list. A delete for everyone also publishes `message-deleted`, on which the media wing erases the photo.
 *
 * A message one may not see — not in its thread, sent before one joined, or none such — answers with the same
 * `NOT_FOUND` (`ConversationDirectory.memberMessage`).
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'See you at 7' })
 * await chat.editMessage('alice', m.id, 'See you at 8')
 * await chat.react('bob', m.id, '👍')
 * ```
 */
export class MessageActions {
  readonly #d: MessageActionsDeps;
  readonly #windows: MessageWindows;

  /**
   * Creates the service.
   *
   * @param deps - the store, directories, feeds, outbox and events it composes, and the windows
   * @throws ValidationError when a window is not a positive integer
   */
  constructor(deps: MessageActionsDeps) {
    this.#d = deps;
    this.#windows = {
      editWindowMs: deps.windows?.editWindowMs ?? DEFAULT_EDIT_WINDOW_MS,
      deleteWindowMs: deps.windows?.deleteWindowMs ?? DEFAULT_DELETE_WINDOW_MS,
    };
    for (const [name, value] of Object.entries(this.#windows)) {
      requirePositiveInt(value, name, Number.MAX_SAFE_INTEGER);
    }
  }

  /** The windows in force. */
  get windows(): MessageWindows {
    return this.#windows;
  }

  /**
   * Edits a text message: only its sender, within the edit window, and not once deleted. The new text is checked
   * as a send's. Its ticks stay as they were; `editedAt` is set.
   *
   * @param userId - who edits
   * @param messageId - the message
   * @param text - the new text
   * @param options - the change's idempotency key
   * @returns the message as it is now
   * @throws ValidationError for a bad text, a photo, or a deleted message
   * @throws NotFoundError when the user may not see such a message (the same error whatever the reason)
   * @throws PermissionError for someone else's message, a closed window, or a block in a direct chat
   */
  async edit(
    userId: string,
    messageId: string,
    text: string,
    options: ChangeOptions = {},
  ): Promise<MessageData> {
    this.#d.users.get(userId);
    const newText = requireText(text, 'text', this.#d.maxTextLength);
    const clientChangeId = this.#clientChangeId(options);
    const { thread, message } = await this.#visible(userId, messageId);
    if (message.senderId !== userId) throw new PermissionError('only its sender edits a message');
    if (message.kind !== 'text') throw new ValidationError('only a text message can be edited');
    requireNotDeleted(message);
    const now = this.#d.clock.now();
    if (!withinWindow(message.sentAt, now, this.#windows.editWindowMs)) {
      throw windowClosed('edited', this.#windows.editWindowMs);
    }
    this.#requireNoBlock(thread, userId);
    return this.#apply(userId, thread, message, 'edit', { text: newText }, clientChangeId, now);
  }

  /**
   * Deletes a message. For everyone: its sender within the delete window, or a group admin at any time; the store
   * erases its text, photo, quote and reactions everywhere and keeps a tombstone, and its photo is erased from the
   * media store. For the user only (`forEveryone: false`): any member; the message leaves their history, on every
   * device of theirs, and nobody else hears of it.
   *
   * @param userId - who deletes
   * @param messageId - the message
   * @param options - `forEveryone`, and the change's idempotency key
   * @returns the message as it is now (a tombstone after a delete for everyone)
   * @throws ValidationError for malformed options, or a delete for everyone of a deleted message
   * @throws NotFoundError when the user may not see such a message (the same error whatever the reason)
   * @throws PermissionError for someone else's message (unless a group admin), or a closed window
   */
  async delete(userId: string, messageId: string, options: DeleteOptions): Promise<MessageData> {
    this.#d.users.get(userId);
    const o = requireObject(options, 'options');
    const forEveryone = requireBoolean(o.forEveryone, 'forEveryone');
    const clientChangeId = this.#clientChangeId(o);
    const { thread, message } = await this.#visible(userId, messageId);
    const now = this.#d.clock.now();
    if (!forEveryone) return this.#apply(userId, thread, message, 'hide', {}, clientChangeId, now);
    requireNotDeleted(message);
    const admin =
      thread.kind === 'group' && this.#d.conversations.group(thread.groupId as string).isAdmin(userId);
    if (!admin) {
      if (message.senderId !== userId) {
        throw new PermissionError('only its sender or a group admin deletes a message for everyone');
      }
      if (!withinWindow(message.sentAt, now, this.#windows.deleteWindowMs)) {
        throw windowClosed('deleted for everyone', this.#windows.deleteWindowMs);
      }
    }
    return this.#apply(userId, thread, message, 'delete', {}, clientChangeId, now);
  }

  /**
   * Sets the user's reaction to a message: one emoji per user (a new one replaces the old), or `null` to take it
   * back. Any member may react, to any message not deleted.
   *
   * @param userId - who reacts
   * @param messageId - the message
   * @param emoji - exactly one emoji (see `requireReaction`), or `null`
   * @param options - the change's idempotency key
   * @returns the message as it is now
   * @throws ValidationError for anything but one emoji or `null`, or a deleted message
   * @throws NotFoundError when the user may not see such a message (the same error whatever the reason)
   * @throws PermissionError across a block in a direct chat
   */
  async react(
    userId: string,
    messageId: string,
    emoji: string | null,
    options: ChangeOptions = {},
  ): Promise<MessageData> {
    this.#d.users.get(userId);
    const reaction = emoji === null ? null : requireReaction(emoji);
    const clientChangeId = this.#clientChangeId(options);
    const { thread, message } = await this.#visible(userId, messageId);
    requireNotDeleted(message);
    this.#requireNoBlock(thread, userId);
    const now = this.#d.clock.now();
    return this.#apply(userId, thread, message, 'reaction', { emoji: reaction }, clientChangeId, now);
  }

  /**
   * A page of a thread's history, newest first, for scrolling back: only what was sent since the user joined
   * (a group member added later does not see earlier messages), without the messages they deleted for themselves.
   *
   * @param userId - who reads
   * @param threadId - the thread
   * @param options - `before` (a seq: older messages only) and `limit`
   * @throws ValidationError when an option is malformed or out of range
   * @throws NotFoundError when the thread is unknown or the user not in it (the same error either way)
   */
  async history(userId: string, threadId: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    this.#d.users.get(userId);
    const o = requireObject(options, 'options');
    const limit =
      o.limit === undefined ? DEFAULT_HISTORY_LIMIT : requirePositiveInt(o.limit, 'limit', MAX_HISTORY_LIMIT);
    const before =
      o.before === undefined ? undefined : requirePositiveInt(o.before, 'before', Number.MAX_SAFE_INTEGER);
    const { conversations, store } = this.#d;
    const thread = conversations.memberThread(userId, threadId);
    // One more than asked tells whether more remain.
    const page = await store.history(thread.id, {
      ...(before === undefined ? {} : { beforeSeq: before }),
      afterSeq: conversations.joinedAtSeq(userId, thread),
      limit: limit + 1,
      hiddenFor: userId,
    });
    return { threadId: thread.id, messages: page.slice(0, limit), hasMore: page.length > limit };
  }

  /** A message the user may see, with its thread; anything else is the one `NOT_FOUND`. */
  async #visible(userId: string, messageId: string): Promise<{ thread: ChatThread; message: MessageData }> {
    const { thread } = this.#d.conversations.memberMessage(userId, messageId);
    const message = await this.#d.store.getMessage(messageId);
    if (message === undefined) throw messageNotFound(messageId);
    return { thread, message };
  }

  /** Writes a checked change and tells the devices of everyone it concerns, then the rest of the system. */
  async #apply(
    userId: string,
    thread: ChatThread,
    before: MessageData,
    kind: MessageChangeKind,
    fields: { readonly text?: string; readonly emoji?: string | null },
    clientChangeId: string,
    at: number,
  ): Promise<MessageData> {
    const { store, outbox, feeds, events, conversations } = this.#d;
    const members = conversations.membersOf(thread);
    // Only members who received the message hear of its changes: one who joined later never saw it.
    const recipientIds =
      kind === 'hide'
        ? []
        : members.filter((id) => id !== userId && conversations.joinedAtSeq(id, thread) < before.seq);
    const result = await store.applyChange({
      kind,
      messageId: before.id,
      userId,
      at,
      ...fields,
      clientChangeId,
      recipientIds,
    });
    if (result.duplicate) return result.message; // a retry: told already
    // Every foreground session, the one that asked included: its answer is only `ok`.
    for (const entry of result.entries) outbox.toUser(entry.userId, { kind: 'entry', entry });
    if (kind === 'edit' || kind === 'delete') feeds.recordChange(members, result.message);
    const own = result.entries.find((e) => e.userId === userId);
    const change: MessageChange =
      own?.type === 'change'
        ? own.change
        : { kind, threadId: thread.id, messageId: before.id, seq: before.seq, userId, at, ...fields };
    events.publish('message-changed', { change, message: result.message });
    if (kind === 'delete') {
      const media = before.media;
      events.publish('message-deleted', {
        messageId: before.id,
        threadId: thread.id,
        ...(media === undefined ? {} : { media }),
      });
    }
    return result.message;
  }

  /** In a direct chat a change reaches the other person, so a block stops it as it stops a message. */
  #requireNoBlock(thread: ChatThread, userId: string): void {
    const peer = thread.peerOf(userId);
    if (peer === undefined) return;
    const { users } = this.#d;
    if (users.get(peer).hasBlocked(userId))
      throw new PermissionError(`${peer} does not accept your messages`);
    if (users.get(userId).hasBlocked(peer)) throw new PermissionError(`unblock ${peer} to message them`);
  }

  #clientChangeId(options: unknown): string {
    const o = requireObject(options, 'options');
    if (o.clientChangeId === undefined) return this.#d.newClientChangeId();
    return requireKey(o.clientChangeId, 'clientChangeId', MAX_CLIENT_CHANGE_ID_LENGTH);
  }
}

function requireNotDeleted(message: MessageData): void {
  if (message.deletedAt !== undefined) {
    throw new ValidationError('the message was deleted', { details: { messageId: message.id } });
  }
}

function windowClosed(what: string, windowMs: number): PermissionError {
  return new PermissionError(`a message can be ${what} only within ${duration(windowMs)} of sending`, {
    details: { windowMs },
  });
}

/** A window as people say it: `15 minutes`, `48 hours`. */
function duration(ms: number): string {
  const [n, unit] =
    ms % 3_600_000 === 0
      ? [ms / 3_600_000, 'hour']
      : ms % 60_000 === 0
        ? [ms / 60_000, 'minute']
        : [ms, 'ms'];
  return `${n} ${unit}${n === 1 || unit === 'ms' ? '' : 's'}`;
}
