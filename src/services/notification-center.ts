import type { MediaRef, MessageChange, MessageData, ReceiptKind } from '../domain';
import type { PushNotification } from '../ports';
import { Observable, type EventMap } from '../util/observable';

/** Where a user is, for routing: a foreground session, only background sessions (or a push device), nothing. */
export type RecipientState = 'online' | 'away' | 'offline';

/** The kinds of record the directory store keeps. */
export type RecordKind = 'user' | 'group' | 'settings' | 'thread' | 'feed';

/** The events the system publishes, for apps, metrics and the facade. */
export interface SystemEvents extends EventMap {
  /** A message was stored (before it is routed). */
  'message-stored': [event: { message: MessageData; recipientIds: readonly string[] }];
  /** A stored message was routed to one recipient by their state. */
  'message-routed': [event: { messageId: string; userId: string; route: RecipientState }];
  /** A stored message was edited, deleted (for everyone, or hidden for one user) or reacted to. */
  'message-changed': [event: { change: MessageChange; message: MessageData }];
  /**
   * A message was deleted for everyone: the message store erased it; whoever keeps a copy of its content (the
   * media wing keeps its photo) erases theirs. `media` is the photo the message carried, if any.
   */
  'message-deleted': [event: { messageId: string; threadId: string; media?: MediaRef }];
  /** Erasing a deleted message's photo failed; the photo is still stored. */
  'media-erase-failed': [event: { mediaId: string; error: unknown }];
  /** A user read a thread up to a seq. */
  read: [event: { userId: string; threadId: string; upToSeq: number }];
  /** A sender's messages in a thread reached a status, up to a seq. */
  receipt: [event: { userId: string; threadId: string; status: ReceiptKind; upToSeq: number; at: number }];
  /** A push notification was handed to the push service. */
  push: [notification: PushNotification];
  /** The push service refused or failed; the message still waits in the inbox. */
  'push-failed': [event: { notification: PushNotification; error: unknown }];
  /** A user's routing state changed. */
  presence: [event: { userId: string; state: RecipientState; at: number }];
  /** A device connected. */
  'session-opened': [event: { userId: string; deviceId: string; connectionId: string; foreground: boolean }];
  /** A device moved to the foreground or the background. */
  'session-foreground': [event: { userId: string; connectionId: string; foreground: boolean }];
  /** A device disconnected. */
  'session-closed': [event: { userId: string; deviceId: string; connectionId: string }];
  /** Group membership changed. */
  'group-changed': [event: { groupId: string; added: readonly string[]; removed: readonly string[] }];
  /**
   * A user, group, user's settings, direct thread or user's chat-list choices (`feed`) changed and must be
   * written to the directory store.
   */
  'record-changed': [event: { kind: RecordKind; id: string }];
  /** Writing the directory failed; the changes stay pending and are retried on the next write. */
  'directory-write-failed': [event: { error: unknown }];
}

/**
 * The system's event hub: services publish, anyone subscribes with typed listeners.
 *
 * Pattern: Observer — publishers and subscribers know only the event map, never each other.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * chat.notifications.on('message-routed', e => console.log(e.userId, e.route))
 * ```
 */
export class NotificationCenter extends Observable<SystemEvents> {
  /**
   * Publishes an event to every subscriber, synchronously.
   *
   * @param event - the event's name
   * @param args - the event's arguments
   */
  publish<K extends keyof SystemEvents & string>(event: K, ...args: SystemEvents[K]): void {
    this.emit(event, ...args);
  }
}
