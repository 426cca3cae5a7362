import type { MessageData, Watermark } from '../../domain';
import type { DirectoryStore, MessageStore } from '../../ports';
import type { ContactDirectory, ConversationDirectory, SettingsService, UserDirectory } from '../directory';
import type { SessionRegistry } from '../presence';
import type { DeliveryService } from './delivery-service';
import type { FeedService } from './feed-service';

/** The most unread messages per thread a restart counts again (a feed shows more as "999+" anyway). */
const RESTORE_UNREAD = 1000;

/** What a restore reads from and puts back into. */
export interface RestoreServiceDeps {
  readonly directoryStore: DirectoryStore;
  readonly store: MessageStore;
  readonly users: UserDirectory;
  readonly contacts: ContactDirectory;
  readonly conversations: ConversationDirectory;
  readonly settings: SettingsService;
  readonly sessions: SessionRegistry;
  readonly delivery: DeliveryService;
  readonly feeds: FeedService;
}

/**
 * Carries a system on from what its stores hold: users, contacts, groups, settings and direct threads from the
 * directory store; then, per thread, its last seq, receipt watermarks and every member's chat list (unread
 * counts, previews) from the message store; last, each user's pins, archive and unread marks.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { openSqliteStores } from 'chat-room/sqlite'
 * const chat = await ChatSystem.open(openSqliteStores('chat.db')) // runs a RestoreService
 * ```
 */
export class RestoreService {
  readonly #d: RestoreServiceDeps;

  /**
   * Creates the service.
   *
   * @param deps - the stores to read and the services to fill
   */
  constructor(deps: RestoreServiceDeps) {
    this.#d = deps;
  }

  /**
   * Loads the directory, then each thread's last seq, receipts and feeds.
   *
   * @throws StorageError when a store cannot be read
   */
  async restore(): Promise<void> {
    const { directoryStore, users, contacts, sessions, conversations, settings } = this.#d;
    const saved = await directoryStore.load();
    for (const record of saved.users) {
      contacts.add(users.restore(record));
      for (const deviceId of record.pushDevices) sessions.registerPushDevice(record.id, deviceId);
    }
    for (const record of saved.groups) conversations.restoreGroup(record);
    for (const record of saved.threads) conversations.restoreThread(record);
    for (const record of saved.settings) settings.restore(record);
    for (const thread of conversations.threads()) await this.#restoreThread(thread.id);
    // Pins, archive and unread marks go last, onto the restored feeds (a restored read clears a mark).
    for (const record of saved.feeds) this.#d.feeds.restoreChoices(record);
  }

  async #restoreThread(threadId: string): Promise<void> {
    const { store, conversations, delivery, feeds } = this.#d;
    const thread = conversations.thread(threadId);
    const [last, watermarks] = await Promise.all([store.lastSeq(thread.id), store.loadWatermarks(thread.id)]);
    thread.observe(last);
    const members = conversations.membersOf(thread);
    const readOf = (marks: readonly Watermark[]) => new Map(marks.map((w) => [w.userId, w.read]));
    const savedRead = readOf(watermarks);
    const lowestRead = Math.min(...members.map((id) => savedRead.get(id) ?? 0));
    // Unread counts come from the messages after the lowest read watermark (at most RESTORE_UNREAD of them),
    // and the newest message is always read back for the preview.
    const after = Math.max(0, Math.min(lowestRead, last - 1), last - RESTORE_UNREAD);
    const recent = last === 0 ? [] : await store.listMessages(thread.id, after, last, RESTORE_UNREAD);
    const marks = withOwnMessagesRead(watermarks, recent);
    delivery.restoreReceipts(thread, marks);
    const read = readOf(marks);
    feeds.restoreThread(thread, members, recent, (id) => read.get(id) ?? 0);
  }
}

/**
 * Sending implies having read the thread up to one's own message, but the sender's watermark is saved after the
 * ack: a crash in between loses it. Raise each sender's watermark to the newest of their messages among
 * `recent` (which covers everything after the lowest saved watermark), so their own messages never hold back
 * the thread's ticks.
 */
function withOwnMessagesRead(watermarks: readonly Watermark[], recent: readonly MessageData[]): Watermark[] {
  const sent = new Map<string, MessageData>();
  for (const m of recent) sent.set(m.senderId, m); // seq order: the last one wins
  const byUser = new Map(watermarks.map((w) => [w.userId, w]));
  for (const [userId, m] of sent) {
    const w = byUser.get(userId);
    if (w !== undefined && w.read >= m.seq) continue;
    byUser.set(userId, {
      userId,
      delivered: Math.max(w?.delivered ?? 0, m.seq),
      read: m.seq,
      deliveredAt: w !== undefined && w.delivered >= m.seq ? w.deliveredAt : m.sentAt,
      readAt: m.sentAt,
      ...(w?.since === undefined ? {} : { since: w.since }),
    });
  }
  return [...byUser.values()];
}
