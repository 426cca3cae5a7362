/**
 * The frames a device and the server exchange. The same frames travel over every transport; each has a `type`,
 * and a request carries a `ref` that the answer repeats.
 *
 * @module
 */
import type { ErrorCode, InboxEntry, MessageKind, PresenceRecord } from '../domain';

/** The protocol version the server speaks. */
export const PROTOCOL_VERSION = 1;

/** Send a message to a user (`to`) or a group (`groupId`). The sender is the connection's user. */
export interface SendFrame {
  readonly type: 'send';
  readonly ref: string;
  readonly clientMessageId: string;
  readonly to?: string;
  readonly groupId?: string;
  readonly kind?: MessageKind;
  readonly text: string;
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

/** Every frame a device sends. */
export type ClientFrame =
  SendFrame | SyncFrame | DeliveredFrame | ReadFrame | StateFrame | SubscribeFrame | ActiveFrame;

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
}

/** A new inbox entry, pushed live to a foreground session. */
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

/** Every frame the server sends. */
export type ServerFrame =
  HelloFrame | AckFrame | EntryFrame | SyncedFrame | OkFrame | ErrorFrame | PresenceFrame;
