/**
 * The frames a device and the server exchange. The same frames travel over every transport; each has a `type`,
 * and a request carries a `ref` that the answer repeats.
 *
 * @module
 */
import type {
  ErrorCode,
  FeedEntry,
  InboxEntry,
  LastSeenVisibility,
  MediaRef,
  MessageData,
  MessageKind,
  PresenceRecord,
  ReplyQuote,
} from '../domain';

/** The protocol version the server speaks. */
export const PROTOCOL_VERSION = 1;

/**
 * Send a message to a user (`to`) or a group (`groupId`), exactly one of the two. The sender is the connection's
 * user. A text message (`kind` `'text'`, the default) has `text` and no `media`; a photo (`kind` `'photo'`) has
 * `media` and an optional caption in `text`.
 */
export interface SendFrame {
  readonly type: 'send';
  readonly ref: string;
  readonly clientMessageId: string;
  readonly to?: string;
  readonly groupId?: string;
  readonly kind?: MessageKind;
  /** The text; for a photo, its caption (optional). Present on every text message. */
  readonly text?: string;
  /** The stored photo (see `toMediaRef`); only on a photo. */
  readonly media?: MediaRef;
  /** The id of the message this one answers: one of the same thread, not deleted. */
  readonly replyTo?: string;
}

/** Ask for the inbox entries after a cursor. */
export interface SyncFrame {
  readonly type: 'sync';
  readonly ref: string;
  readonly after: number;
  readonly limit?: number;
}

/** The device has every inbox entry up to `upTo` (the double check). */
export interface DeliveredFrame {
  readonly type: 'delivered';
  readonly ref?: string;
  readonly upTo: number;
}

/** The user saw the thread up to `upToSeq` (the blue checks). */
export interface ReadFrame {
  readonly type: 'read';
  readonly ref?: string;
  readonly threadId: string;
  readonly upToSeq: number;
}

/** The app moved to the foreground or the background. */
export interface StateFrame {
  readonly type: 'state';
  readonly ref?: string;
  readonly foreground: boolean;
}

/**
 * Replace the set of users whose presence this session follows (the open chat, the visible feed rows); the
 * answer is one `presence` snapshot, then `ok`.
 */
export interface SubscribeFrame {
  readonly type: 'subscribe';
  readonly ref: string;
  readonly userIds: readonly string[];
}

/** The user is active (scrolling, typing): not idle. */
export interface ActiveFrame {
  readonly type: 'active';
  readonly ref?: string;
}

/** Is the connection alive? The answer is `pong` (with the same `ref`, if any). */
export interface PingFrame {
  readonly type: 'ping';
  readonly ref?: string;
}

/**
 * The user started (`typing: true`) or stopped typing in a thread; the other members see a `typing` frame, except
 * across a block. Repeat `typing: true` every few seconds while typing: a state ends by itself 5 s after the last
 * one (the others then get `typing: false`), and repeats within 2 s are not forwarded. A thread one is not in is
 * `NOT_FOUND`, as one that does not exist.
 */
export interface TypingFrame {
  readonly type: 'typing';
  readonly ref?: string;
  readonly threadId: string;
  readonly typing: boolean;
}

/** Create a group; the connection's user becomes its owner. The answer is a `group` snapshot. */
export interface GroupCreateFrame {
  readonly type: 'group.create';
  readonly ref: string;
  readonly name: string;
  /** The other first members (may be empty). */
  readonly memberIds: readonly string[];
}

/** Add members to a group (admins only). The answer is a `group` snapshot. */
export interface GroupAddFrame {
  readonly type: 'group.add';
  readonly ref: string;
  readonly groupId: string;
  readonly userIds: readonly string[];
}

/** Remove a member from a group (admins only). The answer is a `group` snapshot. */
export interface GroupRemoveFrame {
  readonly type: 'group.remove';
  readonly ref: string;
  readonly groupId: string;
  readonly userId: string;
}

/** Leave a group. The answer is `ok`. */
export interface GroupLeaveFrame {
  readonly type: 'group.leave';
  readonly ref: string;
  readonly groupId: string;
}

/** Make a member an admin (admins only). The answer is a `group` snapshot. */
export interface GroupPromoteFrame {
  readonly type: 'group.promote';
  readonly ref: string;
  readonly groupId: string;
  readonly userId: string;
}

/** Add a user to the connection's user's contacts. The answer is `ok`. */
export interface ContactsAddFrame {
  readonly type: 'contacts.add';
  readonly ref: string;
  readonly userId: string;
}

/**
 * Search users by name or handle: within the user's contacts, or with `global` among the users who chose to be
 * discoverable (a word of at least 3 characters, at most 20 results, 30 global searches a minute). The answer is
 * `contacts`.
 */
export interface ContactsSearchFrame {
  readonly type: 'contacts.search';
  readonly ref: string;
  readonly query: string;
  readonly limit?: number;
  readonly global?: boolean;
}

/** Ask for the user's settings. The answer is `settings`. */
export interface SettingsGetFrame {
  readonly type: 'settings.get';
  readonly ref: string;
}

/**
 * Change one setting: exactly one of the optional fields is present (one change per frame, so a refusal never
 * leaves a half-applied change). The answer is a `settings` snapshot.
 */
export interface SettingsSetFrame {
  readonly type: 'settings.set';
  readonly ref: string;
  readonly readReceipts?: boolean;
  readonly previews?: boolean;
  readonly lastSeen?: LastSeenVisibility;
  /** Let people who do not have this user as a contact find them with a global search (off by default). */
  readonly discoverable?: boolean;
  /** Mute a thread until `until` (ms since the epoch), or forever without it. */
  readonly mute?: { readonly threadId: string; readonly until?: number };
  readonly unmute?: { readonly threadId: string };
  /** Block a user. */
  readonly block?: string;
  /** Lift a block. */
  readonly unblock?: string;
}

/**
 * Ask for the top of the chat list (pinned first, then latest activity) with unread counts, or of the archive with
 * `archived: true`. The answer is `feed`.
 */
export interface FeedTopFrame {
  readonly type: 'feed.top';
  readonly ref: string;
  readonly limit?: number;
  readonly archived?: boolean;
}

/**
 * Pin a thread of the chat list to its top (`pinned: true`; this brings an archived thread back) or unpin it. The
 * answer is `ok`; the user's other devices get `feed.changed`. A thread one is not in is `NOT_FOUND`, as one that
 * does not exist.
 */
export interface FeedPinFrame {
  readonly type: 'feed.pin';
  readonly ref: string;
  readonly threadId: string;
  readonly pinned: boolean;
}

/**
 * Mark a thread unread (`unread: true`: it shows at least 1 unread until read again) or clear the mark. The answer
 * is `ok`; the user's other devices get `feed.changed`, as they do when a `read` clears the mark.
 */
export interface FeedUnreadFrame {
  readonly type: 'feed.unread';
  readonly ref: string;
  readonly threadId: string;
  readonly unread: boolean;
}

/**
 * Archive a thread (`archived: true`: it leaves the main list and is unpinned; new messages keep it archived) or
 * bring it back. The answer is `ok`; the user's other devices get `feed.changed`.
 */
export interface FeedArchiveFrame {
  readonly type: 'feed.archive';
  readonly ref: string;
  readonly threadId: string;
  readonly archived: boolean;
}

/**
 * Edit a text message the connection's user sent, within the edit window (15 minutes by default). The answer is
 * `ok`; the change itself arrives as an `entry` (to this connection too), and to every member who has the message.
 * `clientChangeId` makes a retry harmless; without one the frame's `ref` stands in, so leave it out only if your
 * refs never repeat for the user.
 */
export interface EditFrame {
  readonly type: 'edit';
  readonly ref: string;
  readonly messageId: string;
  readonly text: string;
  readonly clientChangeId?: string;
}

/**
 * Delete a message: for everyone (its sender within the delete window, 48 hours by default, or a group admin at
 * any time; the message becomes a tombstone everywhere) or, with `forEveryone: false`, for the connection's user
 * only (hidden from their history on all their devices). The answer is `ok`; the change arrives as an `entry`.
 */
export interface DeleteFrame {
  readonly type: 'delete';
  readonly ref: string;
  readonly messageId: string;
  readonly forEveryone: boolean;
  readonly clientChangeId?: string;
}

/**
 * Set the connection's user's reaction to a message: exactly one emoji, or `null` to take it back (one reaction
 * per user per message). The answer is `ok`; the change arrives as an `entry`.
 */
export interface ReactFrame {
  readonly type: 'react';
  readonly ref: string;
  readonly messageId: string;
  readonly emoji: string | null;
  readonly clientChangeId?: string;
}

/**
 * Ask for a page of a thread's history, newest first: messages older than the seq `before` (the newest without
 * it), at most `limit` (default 50, at most 200), only since the user joined. The answer is `history`.
 */
export interface HistoryFrame {
  readonly type: 'history';
  readonly ref: string;
  readonly threadId: string;
  readonly before?: number;
  readonly limit?: number;
}

/** Every frame a device sends. */
export type ClientFrame =
  | SendFrame
  | SyncFrame
  | DeliveredFrame
  | ReadFrame
  | StateFrame
  | SubscribeFrame
  | ActiveFrame
  | PingFrame
  | TypingFrame
  | GroupCreateFrame
  | GroupAddFrame
  | GroupRemoveFrame
  | GroupLeaveFrame
  | GroupPromoteFrame
  | ContactsAddFrame
  | ContactsSearchFrame
  | SettingsGetFrame
  | SettingsSetFrame
  | FeedTopFrame
  | FeedPinFrame
  | FeedUnreadFrame
  | FeedArchiveFrame
  | EditFrame
  | DeleteFrame
  | ReactFrame
  | HistoryFrame;

/** The `type` of every frame a device sends. */
export type ClientFrameType = ClientFrame['type'];

/** The server greets a new connection with the newest inbox position and the device's saved cursor. */
export interface HelloFrame {
  readonly type: 'hello';
  readonly v: number;
  readonly userId: string;
  readonly deviceId: string;
  /** The newest `inboxSeq` of the user's inbox. */
  readonly latest: number;
  /** The last `inboxSeq` this device acknowledged. */
  readonly cursor: number;
}

/** The single check: the message is stored. */
export interface AckFrame {
  readonly type: 'ack';
  readonly ref: string;
  readonly clientMessageId: string;
  readonly messageId: string;
  readonly threadId: string;
  readonly seq: number;
  readonly sentAt: number;
  /**
   * The sender's own inbox entry for the message. The connection that sent it is not sent that entry: the
   * device applies it from the ack (it knows what it sent). Absent for a retry of a message already stored;
   * the device then finds the entry in its inbox (`sync`).
   */
  readonly inboxSeq?: number;
  /** A reply's quote of the message it answers, as stored (the device applies its own entry from the ack). */
  readonly replyTo?: ReplyQuote;
}

/**
 * A new inbox entry, pushed live to a foreground session (the sender's other devices get their own messages): a
 * message, a receipt, or a change to a message (`{type: 'change', change: {kind: 'edit' | 'delete' | 'reaction' |
 * 'hide', ...}}`, sent to the user who made it too).
 */
export interface EntryFrame {
  readonly type: 'entry';
  readonly entry: InboxEntry;
}

/** The answer to `sync`. */
export interface SyncedFrame {
  readonly type: 'synced';
  readonly ref: string;
  readonly entries: readonly InboxEntry[];
  readonly hasMore: boolean;
  readonly cursor: number;
  readonly latest: number;
}

/** A request succeeded and has nothing else to say. */
export interface OkFrame {
  readonly type: 'ok';
  readonly ref: string;
}

/** A refusal, with the stable code of the error. */
export interface ErrorFrame {
  readonly type: 'error';
  readonly ref?: string;
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Statuses of users the session follows: live changes (batched as the policy says) or a snapshot. */
export interface PresenceFrame {
  readonly type: 'presence';
  readonly updates: readonly PresenceRecord[];
  /** True for the answer to a subscription or a return to the foreground: the full current view. */
  readonly snapshot?: boolean;
}

/** The answer to `ping`. */
export interface PongFrame {
  readonly type: 'pong';
  /** The ping's `ref`, when it had one. */
  readonly ref?: string;
}

/**
 * A member of a thread started or stopped typing (sent to the other members, never to the typist). `typing: false`
 * also comes when the typist went quiet for 5 s, sent a message in the thread, or closed their last session.
 */
export interface UserTypingFrame {
  readonly type: 'typing';
  readonly threadId: string;
  readonly userId: string;
  readonly typing: boolean;
}

/** A group's membership at one moment. */
export interface GroupSnapshot {
  readonly id: string;
  readonly name: string;
  /** The owner; absent only while a group has no member left. */
  readonly ownerId?: string;
  /** Every member, owner included, in join order. */
  readonly memberIds: readonly string[];
  readonly adminIds: readonly string[];
  readonly sizeLimit: number;
}

/** The answer to a group change: the group as it is now. */
export interface GroupFrame {
  readonly type: 'group';
  readonly ref: string;
  readonly group: GroupSnapshot;
}

/** One contact search result. */
export interface ContactResult {
  /** The user's id (handle). */
  readonly id: string;
  /** The display name. */
  readonly name: string;
  /** Every query word equals a whole token (`exact`), or some word only begins one (`prefix`). */
  readonly rank: 'exact' | 'prefix';
}

/** The answer to `contacts.search`: the best matches first. */
export interface ContactsFrame {
  readonly type: 'contacts';
  readonly ref: string;
  readonly results: readonly ContactResult[];
}

/** A user's settings at one moment. */
export interface SettingsSnapshot {
  readonly readReceipts: boolean;
  readonly previews: boolean;
  readonly lastSeen: LastSeenVisibility;
  /** Whether strangers may find this user with a global search. */
  readonly discoverable: boolean;
  /** The muted threads; `until` is absent for a mute without end. */
  readonly muted: readonly { readonly threadId: string; readonly until?: number }[];
  /** The blocked users. */
  readonly blocked: readonly string[];
}

/** The answer to `settings.get` and `settings.set`. */
export interface SettingsFrame {
  readonly type: 'settings';
  readonly ref: string;
  readonly settings: SettingsSnapshot;
}

/**
 * The answer to `feed.top`: the top threads, pinned first then by latest activity, with unread counts (at least 1
 * for a thread marked unread) and each thread's `pinned`, `archived` and `markedUnread`.
 */
export interface FeedFrame {
  readonly type: 'feed';
  readonly ref: string;
  readonly entries: readonly FeedEntry[];
}

/**
 * A thread's place in the chat list changed on another device of the user (or through the API, or a read cleared
 * its unread mark): sent to each of the user's sessions, foreground and background, but the one that asked.
 */
export interface FeedChangedFrame {
  readonly type: 'feed.changed';
  readonly threadId: string;
  readonly pinned: boolean;
  readonly archived: boolean;
  readonly markedUnread: boolean;
}

/** The answer to `history`: a page of the thread, newest first, and whether older messages remain. */
export interface HistoryPageFrame {
  readonly type: 'history';
  readonly ref: string;
  readonly threadId: string;
  readonly messages: readonly MessageData[];
  readonly hasMore: boolean;
}

/** Every frame the server sends. */
export type ServerFrame =
  | HelloFrame
  | AckFrame
  | EntryFrame
  | SyncedFrame
  | OkFrame
  | ErrorFrame
  | PresenceFrame
  | PongFrame
  | UserTypingFrame
  | GroupFrame
  | ContactsFrame
  | SettingsFrame
  | FeedFrame
  | FeedChangedFrame
  | HistoryPageFrame;
