import type { ChatThread, MessageData } from '../../domain';
import { ChatFeed, messagePreview } from '../../domain';
import type { ConversationDirectory } from '../directory';
import type { NotificationCenter } from '../notification-center';

/**
 * Keeps each user's `ChatFeed` up to date as messages are stored and threads are read.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * chat.getFeed('alice').top(10)
 * ```
 */
export class FeedService {
  readonly #conversations: ConversationDirectory;
  readonly #feeds = new Map<string, ChatFeed>();

  /**
   * Creates the service.
   *
   * @param conversations - for thread titles
   * @param events - group changes: a new member sees the group in their feed at once
   */
  constructor(conversations: ConversationDirectory, events: NotificationCenter) {
    this.#conversations = conversations;
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
   * Records that a user read a thread up to a seq.
   *
   * @param userId - the reader
   * @param threadId - the thread
   * @param upToSeq - how far
   */
  markRead(userId: string, threadId: string, upToSeq: number): void {
    const feed = this.#feeds.get(userId);
    if (feed?.has(threadId)) feed.markRead(threadId, upToSeq);
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
