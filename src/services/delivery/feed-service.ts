import type { ChatThread, FeedEntry, FeedRecord, MessageData } from '../../domain';
import { ChatFeed, messagePreview, requireBoolean, requireFeedRecord, requireSeq } from '../../domain';
import type { DeviceOutbox, FeedChange } from '../device-outbox';
import type { ConversationDirectory, FeedRecordSource } from '../directory';
import type { NotificationCenter } from '../notification-center';

/** Where a chat-list change came from. */
export interface FeedChangeOptions {
  /** The session that asked: its answer stands for the change; the user's other sessions get `feed.changed`. */
  readonly originSessionId?: string;
}

/**
 * Keeps each user's `ChatFeed` up to date as messages are stored and threads are read, and applies the user's
 * own choices: pin, mark unread, archive. A choice is saved as the user's `feed` record (through
 * `record-changed`, by the directory journal) and handed to the user's other devices through the outbox. A
 * thread the user is not in answers `NOT_FOUND` exactly as one that does not exist.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * chat.getFeed('alice').top(10)
 * ```
 */
export class FeedService implements FeedRecordSource {
  readonly #conversations: ConversationDirectory;
  readonly #events: NotificationCenter;
  readonly #outbox: DeviceOutbox | undefined;
  readonly #feeds = new Map<string, ChatFeed>();

  /**
   * Creates the service.
   *
   * @param conversations - for thread titles
   * @param events - group changes: a new member sees the group in their feed at once; and where a changed
   *   choice is announced (`record-changed`)
   * @param outbox - where the user's devices learn of a changed choice
   */
  constructor(conversations: ConversationDirectory, events: NotificationCenter, outbox?: DeviceOutbox) {
    this.#conversations = conversations;
    this.#events = events;
    this.#outbox = outbox;
    events.on('group-changed', ({ groupId, added }) => {
      const thread = conversations.groupThread(groupId);
      for (const userId of added) {
        this.feedOf(userId).upsert(thread.id, { title: conversations.titleOf(thread, userId) });
      }
    });
  }

  /**
   * A user's feed, created empty on first use.
   *
   * @param userId - the user (already checked to exist)
   */
  feedOf(userId: string): ChatFeed {
    let feed = this.#feeds.get(userId);
    if (feed === undefined) {
      feed = new ChatFeed();
      this.#feeds.set(userId, feed);
    }
    return feed;
  }

  /**
   * Records a stored message in the feed of one member of its thread.
   *
   * @param userId - the member
   * @param thread - the thread
   * @param message - the stored message
   */
  recordMessage(userId: string, thread: ChatThread, message: MessageData): void {
    this.feedOf(userId).recordMessage(thread.id, {
      seq: message.seq,
      at: message.sentAt,
      preview: messagePreview(message),
      incoming: message.senderId !== userId,
      title: this.#conversations.titleOf(thread, userId),
    });
  }

  /**
   * Rebuilds the thread's entry in each member's feed after a restart: title, read watermark, the newest
   * message as preview, and unread counts from the messages given.
   *
   * @param thread - the thread
   * @param members - its members now
   * @param recent - its newest messages in seq order (those after the lowest read watermark, at least the last)
   * @param readUpTo - each member's saved read watermark
   */
  restoreThread(
    thread: ChatThread,
    members: readonly string[],
    recent: readonly MessageData[],
    readUpTo: (userId: string) => number,
  ): void {
    // A direct thread enters a feed with its first message; a group as soon as one is a member.
    if (recent.length === 0 && thread.kind === 'direct') return;
    for (const userId of members) {
      const feed = this.feedOf(userId);
      feed.upsert(thread.id, { title: this.#conversations.titleOf(thread, userId) });
      const read = readUpTo(userId);
      if (read > 0) feed.markRead(thread.id, read);
      for (const message of recent) this.recordMessage(userId, thread, message);
    }
  }

  /**
   * Shows an edited or deleted message in its members' feeds where it is the thread's latest message. An edit is
   * not new activity: the order and the unread counts stay as they are.
   *
   * @param members - the thread's members
   * @param message - the message as it is now
   */
  recordChange(members: readonly string[], message: MessageData): void {
    const preview = messagePreview(message);
    for (const userId of members) {
      this.#feeds.get(userId)?.updatePreview(message.threadId, message.seq, preview);
    }
  }

  /**
   * Records that a user read a thread up to a seq.
   *
   * @param userId - the reader
   * @param threadId - the thread
   * @param upToSeq - how far
   */
  markRead(userId: string, threadId: string, upToSeq: number): void {
    const feed = this.#feeds.get(userId);
    if (!feed?.has(threadId)) return;
    const marked = feed.get(threadId)?.markedUnread === true;
    feed.markRead(threadId, upToSeq);
    // Reading a thread clears its unread mark: a choice that changed, to save and to show on every device.
    if (marked) this.#changed(userId, feed, threadId, {});
  }

  /**
   * Pins a thread to the top of a user's chat list, or unpins it. Pinning brings an archived thread back.
   *
   * @param userId - the user
   * @param threadId - a thread of theirs, in their chat list
   * @param pinned - pin (true) or unpin (false)
   * @param options - the session that asked, which is not told again
   * @returns the thread's entry as it is now
   * @throws ValidationError when an argument is malformed
   * @throws NotFoundError when the thread does not exist or the user is not in it (the same error either
   *   way), or it is not in their chat list yet (a direct chat without a message)
   */
  setPinned(userId: string, threadId: string, pinned: boolean, options: FeedChangeOptions = {}): FeedEntry {
    const on = requireBoolean(pinned, 'pinned');
    const feed = this.#memberFeed(userId, threadId);
    return this.#apply(userId, feed, threadId, options, () =>
      on ? feed.pin(threadId) : feed.unpin(threadId),
    );
  }

  /**
   * Marks a thread unread (it shows at least 1 unread until the user reads it), or clears the mark.
   *
   * @param userId - the user
   * @param threadId - a thread of theirs, in their chat list
   * @param unread - mark (true) or clear the mark (false)
   * @param options - the session that asked, which is not told again
   * @returns the thread's entry as it is now
   * @throws ValidationError when an argument is malformed
   * @throws NotFoundError as `setPinned` does
   */
  setMarkedUnread(
    userId: string,
    threadId: string,
    unread: boolean,
    options: FeedChangeOptions = {},
  ): FeedEntry {
    const on = requireBoolean(unread, 'unread');
    const feed = this.#memberFeed(userId, threadId);
    return this.#apply(userId, feed, threadId, options, () =>
      on ? feed.markUnread(threadId) : feed.clearUnreadMark(threadId),
    );
  }

  /**
   * Archives a thread (out of the main list, and unpinned) or brings it back. A new message leaves an archived
   * thread archived.
   *
   * @param userId - the user
   * @param threadId - a thread of theirs, in their chat list
   * @param archived - archive (true) or unarchive (false)
   * @param options - the session that asked, which is not told again
   * @returns the thread's entry as it is now
   * @throws ValidationError when an argument is malformed
   * @throws NotFoundError as `setPinned` does
   */
  setArchived(
    userId: string,
    threadId: string,
    archived: boolean,
    options: FeedChangeOptions = {},
  ): FeedEntry {
    const on = requireBoolean(archived, 'archived');
    const feed = this.#memberFeed(userId, threadId);
    return this.#apply(userId, feed, threadId, options, () =>
      on ? feed.archive(threadId) : feed.unarchive(threadId),
    );
  }

  /**
   * The top of a user's chat list, or of their archive.
   *
   * @param userId - the user
   * @param limit - how many entries: a non-negative integer
   * @param archived - read the archive instead of the main list
   * @throws ValidationError when an argument is malformed
   */
  top(userId: string, limit: number, archived = false): FeedEntry[] {
    const k = requireSeq(limit, 'limit');
    const fromArchive = requireBoolean(archived, 'archived');
    return this.#feeds.get(userId)?.top(k, { archived: fromArchive }) ?? [];
  }

  /**
   * A user's chat-list choices as a record, for the directory store.
   *
   * @param userId - the user
   */
  feedRecord(userId: string): FeedRecord {
    const { pinned, archived, markedUnread } = this.#feeds.get(userId)?.preferences() ?? {
      pinned: [],
      archived: [],
      markedUnread: [],
    };
    return { userId, pinned, archived, markedUnread };
  }

  /**
   * Puts a user's saved choices back after a restart, once the threads are back in the feeds. A thread no longer
   * in the user's feed (a group they left) is skipped, and the next save drops it.
   *
   * @param record - the saved record
   * @throws ValidationError when the record is malformed; nothing is applied then
   */
  restoreChoices(record: FeedRecord): void {
    const { userId, pinned, archived, markedUnread } = requireFeedRecord(record);
    const feed = this.feedOf(userId);
    for (const id of pinned) if (feed.has(id)) feed.pin(id);
    for (const id of archived) if (feed.has(id)) feed.archive(id);
    for (const id of markedUnread) if (feed.has(id)) feed.markUnread(id);
  }

  /** The user's feed, once the thread is known to be theirs: one they are not in answers as one that is not. */
  #memberFeed(userId: string, threadId: string): ChatFeed {
    this.#conversations.memberThread(userId, threadId);
    return this.feedOf(userId);
  }

  /** Runs one change; saves it and tells the other devices when it changed anything. */
  #apply(
    userId: string,
    feed: ChatFeed,
    threadId: string,
    options: FeedChangeOptions,
    change: () => FeedEntry,
  ): FeedEntry {
    const before = feed.get(threadId);
    const after = change(); // throws NotFoundError, changing nothing, for a thread not in the list yet
    const same =
      before?.pinned === after.pinned &&
      before.archived === after.archived &&
      before.markedUnread === after.markedUnread;
    if (!same) this.#changed(userId, feed, threadId, options);
    return after;
  }

  /** Saves the user's choices (the journal writes the `feed` record) and shows the thread's on their devices. */
  #changed(userId: string, feed: ChatFeed, threadId: string, options: FeedChangeOptions): void {
    const entry = feed.get(threadId);
    if (entry === undefined) return;
    this.#events.publish('record-changed', { kind: 'feed', id: userId });
    const { pinned, archived, markedUnread } = entry;
    const change: FeedChange = { threadId, pinned, archived, markedUnread };
    this.#outbox?.toUser(userId, { kind: 'feed', change }, options.originSessionId);
  }

  /**
   * A user's unread messages over all threads (the app badge).
   *
   * @param userId - the user
   */
  totalUnread(userId: string): number {
    return this.#feeds.get(userId)?.totalUnread() ?? 0;
  }
}
