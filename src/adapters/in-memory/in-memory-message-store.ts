import type {
  InboxEntry,
  InboxItem,
  InboxPage,
  MessageChange,
  MessageData,
  ReceiptData,
  ReplyQuote,
  Watermark,
} from '../../domain';
import {
  NotFoundError,
  ResyncRequiredError,
  ValidationError,
  frozenChange,
  frozenMessage,
  frozenReceipt,
  messageId,
  parseMessageId,
  reactionsAfter,
  requireMaxInboxEntries,
} from '../../domain';
import type {
  AppendResult,
  ChangeResult,
  HistoryQuery,
  MessageChangeInput,
  MessageStore,
  NewMessage,
} from '../../ports';

/** Options of the in-memory store. */
export interface InMemoryMessageStoreOptions {
  /** How many of the newest entries each inbox keeps; older cursors get `RESYNC_REQUIRED`. Default: all. */
  readonly maxInboxEntries?: number;
}

/**
 * What an inbox entry names, never a copy: a message by its place in its thread, a change by its place among its
 * message's changes (or a receipt, which never changes). A read builds the entry from what is stored now, so an
 * edit, a delete or a reaction shows in every inbox at once, and an erased text is kept nowhere.
 */
type Slot =
  | { readonly type: 'message'; readonly threadId: string; readonly seq: number }
  | { readonly type: 'receipt'; readonly receipt: ReceiptData }
  | { readonly type: 'change'; readonly messageId: string; readonly index: number };

/** A user's inbox: what its entries name, in `inboxSeq` order, the oldest kept first. */
interface Inbox {
  /** The `inboxSeq` of `slots[0]` (1 until the inbox is trimmed). */
  first: number;
  readonly slots: Slot[];
}

/**
 * Keeps messages, inboxes, receipt watermarks and cursors in Maps and arrays; nothing survives the process.
 *
 * This is the reference adapter of the `MessageStore` port: every other store must behave like this one, and the
 * conformance suite (`messageStoreSuite` in `chat-room/testing`) checks it. Everything it hands out is frozen, and
 * what it keeps is its own copy, so no caller can change what is stored. A change to a message replaces the
 * message in its thread; inboxes name messages and changes rather than copy them, so every read sees the message
 * as it is now.
 *
 * @example
 * ```ts
 * import { ChatSystem, InMemoryMessageStore } from 'chat-room'
 * const chat = ChatSystem.create({ store: new InMemoryMessageStore({ maxInboxEntries: 10_000 }) })
 * ```
 */
export class InMemoryMessageStore implements MessageStore {
  readonly #maxInbox: number;
  /** By thread id: its messages as they are now, in seq order, so message `seq` sits at index `seq - 1`. */
  readonly #threads = new Map<string, MessageData[]>();
  /** By sender, then by client message id: the idempotency keys of messages, and the ids they stored. */
  readonly #sent = new Map<string, Map<string, string>>();
  /** By message id: the changes made to it, in order (what change entries name). */
  readonly #changes = new Map<string, MessageChange[]>();
  /** By user, then by client change id: the idempotency keys of changes, and the message each changed. */
  readonly #changeKeys = new Map<string, Map<string, string>>();
  /** By user id: the ids of the messages the user hid from their history. */
  readonly #hidden = new Map<string, Set<string>>();
  /** By user id. */
  readonly #inboxes = new Map<string, Inbox>();
  /** By thread id, then by member. */
  readonly #watermarks = new Map<string, Map<string, Watermark>>();
  /** By user id, then by cursor name. */
  readonly #cursors = new Map<string, Map<string, number>>();

  /**
   * Creates an empty store.
   *
   * @param options - retention
   * @throws ValidationError when `maxInboxEntries` is not a positive integer
   */
  constructor(options: InMemoryMessageStoreOptions = {}) {
    this.#maxInbox = requireMaxInboxEntries(options.maxInboxEntries);
  }

  async appendMessage(input: NewMessage): Promise<AppendResult> {
    const earlier = this.#sent.get(input.senderId)?.get(input.clientMessageId);
    if (earlier !== undefined) {
      return { message: this.#message(earlier) as MessageData, entries: [], duplicate: true };
    }
    const thread = getOrAdd(this.#threads, input.threadId, () => []);
    const seq = thread.length + 1;
    const message = frozenMessage({
      id: messageId(input.threadId, seq),
      threadId: input.threadId,
      seq,
      senderId: input.senderId,
      kind: input.kind,
      text: input.text,
      ...(input.media === undefined ? {} : { media: input.media }),
      clientMessageId: input.clientMessageId,
      sentAt: input.sentAt,
      ...(input.replyTo === undefined ? {} : { replyTo: input.replyTo }),
    });
    thread.push(message);
    getOrAdd(this.#sent, input.senderId, () => new Map()).set(input.clientMessageId, message.id);
    // The sender's inbox gets a copy too, for the sender's other devices.
    const entries = [input.senderId, ...input.recipientIds].map((userId) =>
      this.#append(userId, { type: 'message', threadId: input.threadId, seq }),
    );
    return { message, entries, duplicate: false };
  }

  async findByClientMessageId(senderId: string, clientMessageId: string): Promise<MessageData | undefined> {
    const id = this.#sent.get(senderId)?.get(clientMessageId);
    return id === undefined ? undefined : this.#message(id);
  }

  async getMessage(id: string): Promise<MessageData | undefined> {
    return this.#message(id);
  }

  async listMessages(
    threadId: string,
    afterSeq: number,
    upToSeq: number,
    limit: number,
  ): Promise<MessageData[]> {
    const thread = this.#threads.get(threadId) ?? [];
    const start = Math.max(afterSeq, 0);
    const end = Math.min(upToSeq, afterSeq + limit, thread.length);
    return end > start ? thread.slice(start, end) : [];
  }

  async applyChange(input: MessageChangeInput): Promise<ChangeResult> {
    const earlier = this.#changeKeys.get(input.userId)?.get(input.clientChangeId);
    if (earlier !== undefined) {
      return { message: this.#message(earlier) as MessageData, entries: [], duplicate: true };
    }
    const old = this.#message(input.messageId);
    if (old === undefined) throw new NotFoundError(`no message ${input.messageId}`);
    const thread = this.#threads.get(old.threadId) as MessageData[];
    const message = changedMessage(old, input);
    thread[old.seq - 1] = message;
    if (input.kind === 'delete') this.#erase(message);
    if (input.kind === 'hide') getOrAdd(this.#hidden, input.userId, () => new Set()).add(message.id);
    const index = this.#keepChange(changeOf(message, input));
    getOrAdd(this.#changeKeys, input.userId, () => new Map()).set(input.clientChangeId, message.id);
    // A hide concerns the hider alone: only their own inbox hears of it.
    const userIds = input.kind === 'hide' ? [input.userId] : [input.userId, ...input.recipientIds];
    const entries = userIds.map((userId) =>
      this.#append(userId, { type: 'change', messageId: message.id, index }),
    );
    return { message, entries, duplicate: false };
  }

  async history(threadId: string, query: HistoryQuery): Promise<MessageData[]> {
    const thread = this.#threads.get(threadId) ?? [];
    const hidden = query.hiddenFor === undefined ? undefined : this.#hidden.get(query.hiddenFor);
    const page: MessageData[] = [];
    // Newest first: walk down from just below `beforeSeq` (or the newest message) to just above `afterSeq`.
    const top = Math.min(thread.length, Math.ceil(query.beforeSeq ?? Number.POSITIVE_INFINITY) - 1);
    for (let seq = top; seq > query.afterSeq && page.length < query.limit; seq--) {
      const message = thread[seq - 1] as MessageData;
      if (hidden?.has(message.id) !== true) page.push(message);
    }
    return page;
  }

  async lastSeq(threadId: string): Promise<number> {
    return this.#threads.get(threadId)?.length ?? 0;
  }

  async sendersBetween(threadId: string, afterSeq: number, upToSeq: number): Promise<string[]> {
    const thread = this.#threads.get(threadId) ?? [];
    const messages = thread.slice(Math.max(afterSeq, 0), Math.max(upToSeq, 0));
    return [...new Set(messages.map((m) => m.senderId))];
  }

  async appendEntry(userId: string, item: InboxItem): Promise<InboxEntry> {
    if (item.type === 'receipt') {
      return this.#append(userId, { type: 'receipt', receipt: frozenReceipt(item.receipt) });
    }
    const named = item.type === 'message' ? item.message : item.change;
    const stored = this.#threads.get(named.threadId)?.[named.seq - 1];
    // An entry names a stored message; one the store does not hold would be handed back as something else.
    if (stored === undefined || (item.type === 'message' && stored.senderId !== item.message.senderId)) {
      throw new ValidationError(`no stored message ${named.threadId}#${named.seq} to put in an inbox`);
    }
    if (item.type === 'message') {
      return this.#append(userId, { type: 'message', threadId: stored.threadId, seq: stored.seq });
    }
    const index = this.#keepChange(frozenChange({ ...item.change, messageId: stored.id }));
    return this.#append(userId, { type: 'change', messageId: stored.id, index });
  }

  async readInbox(userId: string, after: number, limit: number): Promise<InboxPage> {
    const inbox = this.#inboxes.get(userId) ?? { first: 1, slots: [] };
    const latest = inbox.first + inbox.slots.length - 1;
    // Trimming runs in batches, so the inbox may still hold a few more than the limit: reads apply it exactly.
    const oldest = Math.max(inbox.first, latest - this.#maxInbox + 1);
    if (after > latest || after < oldest - 1) {
      throw new ResyncRequiredError(
        after > latest
          ? `cursor ${after} is ahead of the inbox (latest ${latest}); rebuild local state`
          : `entries after ${after} are no longer kept (oldest kept is ${oldest}); rebuild local state`,
        { details: { after, oldest, latest } },
      );
    }
    const start = after - inbox.first + 1;
    const slots = inbox.slots.slice(start, start + Math.max(limit, 0));
    const entries = slots.map((slot, i) => this.#entry(userId, after + 1 + i, slot));
    const cursor = after + entries.length;
    return { entries, hasMore: cursor < latest, cursor, latest };
  }

  async latestInboxSeq(userId: string): Promise<number> {
    const inbox = this.#inboxes.get(userId);
    return inbox === undefined ? 0 : inbox.first + inbox.slots.length - 1;
  }

  async highestReceived(userId: string, after: number, upTo: number): Promise<Map<string, number>> {
    const highest = new Map<string, number>();
    const inbox = this.#inboxes.get(userId);
    if (inbox === undefined) return highest;
    const latest = inbox.first + inbox.slots.length - 1;
    const oldest = Math.max(inbox.first, latest - this.#maxInbox + 1);
    for (let inboxSeq = Math.max(after + 1, oldest); inboxSeq <= Math.min(upTo, latest); inboxSeq++) {
      const slot = inbox.slots[inboxSeq - inbox.first] as Slot;
      if (slot.type !== 'message') continue;
      const { threadId, seq } = slot;
      const message = this.#threads.get(threadId)?.[seq - 1] as MessageData;
      if (message.senderId !== userId && seq > (highest.get(threadId) ?? 0)) highest.set(threadId, seq);
    }
    return highest;
  }

  async saveWatermark(threadId: string, watermark: Watermark): Promise<void> {
    const marks = getOrAdd(this.#watermarks, threadId, () => new Map());
    const old = marks.get(watermark.userId);
    // Each half only moves forward, and its time moves with it; `since` stays unless a new one is given.
    const delivered = old === undefined || watermark.delivered > old.delivered ? watermark : old;
    const read = old === undefined || watermark.read > old.read ? watermark : old;
    const since = watermark.since ?? old?.since;
    const saved: Watermark = {
      userId: watermark.userId,
      delivered: delivered.delivered,
      read: read.read,
      deliveredAt: delivered.deliveredAt,
      readAt: read.readAt,
      ...(since === undefined ? {} : { since }),
    };
    marks.set(watermark.userId, Object.freeze(saved));
  }

  async loadWatermarks(threadId: string): Promise<Watermark[]> {
    return [...(this.#watermarks.get(threadId)?.values() ?? [])];
  }

  async getCursor(userId: string, name: string): Promise<number> {
    return this.#cursors.get(userId)?.get(name) ?? 0;
  }

  async advanceCursor(userId: string, name: string, value: number): Promise<number> {
    const cursors = getOrAdd(this.#cursors, userId, () => new Map());
    const old = cursors.get(name) ?? 0;
    if (value > old) cursors.set(name, value);
    return old;
  }

  /** A message as it is now, by id; `undefined` for an id that names no stored message. */
  #message(id: string): MessageData | undefined {
    // An id names its thread and seq; a string that is not such an id names no message.
    const key = parseMessageId(id);
    return key === undefined ? undefined : this.#threads.get(key.threadId)?.[key.seq - 1];
  }

  /** Keeps a (frozen) change among its message's changes and returns its place there. */
  #keepChange(change: MessageChange): number {
    const changes = getOrAdd(this.#changes, change.messageId, () => []);
    changes.push(change);
    return changes.length - 1;
  }

  /**
   * Erases what a deleted message said from everything else the store keeps: the texts of its edits, and the
   * previews of the replies quoting it (which now say it was deleted).
   */
  #erase(deleted: MessageData): void {
    const changes = this.#changes.get(deleted.id) ?? [];
    this.#changes.set(
      deleted.id,
      changes.map((c) => (c.kind === 'edit' ? frozenChange({ ...c, text: '' }) : c)),
    );
    // Replies are in the quoted message's thread.
    const thread = this.#threads.get(deleted.threadId) as MessageData[];
    thread.forEach((m, i) => {
      if (m.replyTo?.messageId !== deleted.id) return;
      const quote: ReplyQuote = { ...m.replyTo, preview: '', deleted: true };
      thread[i] = frozenMessage({ ...m, replyTo: quote });
    });
  }

  /** The entry a slot of a user's inbox stands for, built from what is stored now. */
  #entry(userId: string, inboxSeq: number, slot: Slot): InboxEntry {
    switch (slot.type) {
      case 'message': {
        const message = this.#threads.get(slot.threadId)?.[slot.seq - 1] as MessageData;
        return Object.freeze({ type: 'message', message, userId, inboxSeq });
      }
      case 'receipt':
        return Object.freeze({ type: 'receipt', receipt: slot.receipt, userId, inboxSeq });
      case 'change': {
        const change = this.#changes.get(slot.messageId)?.[slot.index] as MessageChange;
        return Object.freeze({ type: 'change', change, userId, inboxSeq });
      }
    }
  }

  /** Appends a slot to a user's inbox and returns its entry; what a slot carries must be the store's own. */
  #append(userId: string, slot: Slot): InboxEntry {
    const inbox = getOrAdd(this.#inboxes, userId, () => ({ first: 1, slots: [] }));
    const inboxSeq = inbox.first + inbox.slots.length;
    inbox.slots.push(slot);
    // Trim in batches, down to the limit once twice as many are kept, so an append stays O(1) amortised.
    if (inbox.slots.length >= 2 * this.#maxInbox) {
      const drop = inbox.slots.length - this.#maxInbox;
      inbox.slots.splice(0, drop);
      inbox.first += drop;
    }
    return this.#entry(userId, inboxSeq, slot);
  }
}

/**
 * A message after a change: an edit sets its text, a delete leaves a tombstone, a reaction sets the user's
 * emoji; a hide leaves it as it is. A deleted message stays deleted: nothing changes a tombstone (as
 * `applyMessageChange` on a device), so an edit racing a delete cannot bring a text back.
 *
 * @throws ValidationError for an edit without a text
 */
function changedMessage(m: MessageData, change: MessageChangeInput): MessageData {
  if (change.kind === 'edit' && typeof change.text !== 'string') {
    throw new ValidationError('an edit needs its new text');
  }
  if (m.deletedAt !== undefined) return m;
  switch (change.kind) {
    case 'edit':
      return frozenMessage({ ...m, text: change.text as string, editedAt: change.at });
    case 'delete':
      // Text, photo, quote and reactions go; who sent it, where and when stay.
      return frozenMessage({
        id: m.id,
        threadId: m.threadId,
        seq: m.seq,
        senderId: m.senderId,
        kind: m.kind,
        text: '',
        clientMessageId: m.clientMessageId,
        sentAt: m.sentAt,
        ...(m.editedAt === undefined ? {} : { editedAt: m.editedAt }),
        deletedAt: change.at,
      });
    case 'reaction': {
      const { reactions: _old, ...rest } = m;
      const reactions = reactionsAfter(m.reactions, change.userId, change.emoji ?? null);
      return frozenMessage(reactions === undefined ? rest : { ...rest, reactions });
    }
    case 'hide':
      return m;
  }
}

/** The change entry that tells a message's readers what happened to it; an edit of a tombstone carries no text. */
function changeOf(m: MessageData, change: MessageChangeInput): MessageChange {
  return frozenChange({
    kind: change.kind,
    threadId: m.threadId,
    messageId: m.id,
    seq: m.seq,
    userId: change.userId,
    at: change.at,
    ...(change.kind === 'edit' ? { text: m.text } : {}),
    ...(change.kind === 'reaction' ? { emoji: change.emoji ?? null } : {}),
  });
}

/** The value of a key, added by `make` when missing. */
function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
