/**
 * The rules of what may happen to a message after it was sent — replies quote it, its sender edits or deletes it
 * within a window, members react with one emoji each — and {@link applyMessageChange}, the one function that
 * turns a message and a change into the message as it is now (what a device does with a `change` inbox entry).
 *
 * @module
 */
import { ValidationError } from './errors';
import type { MessageChange } from './inbox';
import type { MessageData, ReplyQuote } from './message';
import { REPLY_PREVIEW_LENGTH, frozenMessage } from './message';

/** How long after sending its sender may edit a text message (ms): 15 minutes, as WhatsApp allows. */
export const DEFAULT_EDIT_WINDOW_MS = 15 * 60_000;

/** How long after sending its sender may delete a message for everyone (ms): 48 hours. Group admins have no limit. */
export const DEFAULT_DELETE_WINDOW_MS = 48 * 3_600_000;

/** The longest reaction in UTF-16 units: the longest emoji sequences (families, tag flags) take about 15. */
export const MAX_REACTION_LENGTH = 32;

/**
 * Whether a change made at `now` falls within a window that opened when the message was sent; the last
 * millisecond of the window still counts.
 *
 * @param sentAt - when the message was stored (ms)
 * @param now - when the change is asked for (ms)
 * @param windowMs - how long the window lasts (ms)
 *
 * @example
 * ```ts
 * import { DEFAULT_EDIT_WINDOW_MS, withinWindow } from 'chat-room'
 * withinWindow(0, DEFAULT_EDIT_WINDOW_MS, DEFAULT_EDIT_WINDOW_MS) // true
 * withinWindow(0, DEFAULT_EDIT_WINDOW_MS + 1, DEFAULT_EDIT_WINDOW_MS) // false
 * ```
 */
export function withinWindow(sentAt: number, now: number, windowMs: number): boolean {
  return now - sentAt <= windowMs;
}

/** Segments text into what a reader sees as single characters (an emoji with its modifiers is one). */
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** Emoji proper (😀, ❤️, 👍🏽, 👩‍💻, 🏴‍☠️ — each has a pictographic code point). */
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
/** A flag: two regional indicator letters (🇵🇹). */
const FLAG = /^\p{Regional_Indicator}{2}$/u;
/** A keycap: a digit, `#` or `*`, an optional emoji selector, and the enclosing keycap (1️⃣). */
const KEYCAP = /^[0-9#*]\uFE0F?\u20E3$/u;

/**
 * Checks a reaction: exactly one emoji. The rule is deliberately simple: the string is one grapheme (what a
 * reader sees as one character, found with `Intl.Segmenter`), and that grapheme holds an emoji code point
 * (`\p{Extended_Pictographic}`: faces, hearts, hands with skin tones, ZWJ sequences such as 👩‍💻, tag flags), or
 * is a country flag (two regional indicators) or a keycap (1️⃣, #️⃣). Letters, digits alone, two emoji, or an
 * emoji with text around it are refused.
 *
 * @param value - the reaction asked for
 * @returns the emoji, unchanged
 * @throws ValidationError (field `emoji`) when it is not exactly one emoji
 *
 * @example
 * ```ts
 * import { requireReaction } from 'chat-room'
 * requireReaction('👍🏽') // '👍🏽'
 * requireReaction('🇵🇹') // '🇵🇹'
 * requireReaction('ok') // throws ValidationError
 * ```
 */
export function requireReaction(value: unknown): string {
  const refuse = (why: string): ValidationError =>
    new ValidationError(`emoji must be exactly one emoji (${why})`, { details: { field: 'emoji' } });
  if (typeof value !== 'string') throw refuse('not a string');
  if (value.length === 0 || value.length > MAX_REACTION_LENGTH) throw refuse('wrong length');
  let count = 0;
  for (const _ of GRAPHEMES.segment(value)) if (++count > 1) throw refuse('more than one character');
  if (!PICTOGRAPHIC.test(value) && !FLAG.test(value) && !KEYCAP.test(value)) throw refuse('not an emoji');
  return value;
}

/**
 * What a reply shows of the message it answers: who sent it, its kind and its first
 * {@link REPLY_PREVIEW_LENGTH} characters (code points, so an emoji is never cut in half).
 *
 * @param message - the answered message (not deleted)
 */
export function quoteOf(message: MessageData): ReplyQuote {
  let preview = '';
  let count = 0;
  for (const char of message.text) {
    if (++count > REPLY_PREVIEW_LENGTH) break;
    preview += char;
  }
  return Object.freeze({
    messageId: message.id,
    senderId: message.senderId,
    kind: message.kind,
    preview,
  });
}

/**
 * A reply whose quoted message was deleted for everyone: the quote keeps who and what kind, loses its preview.
 *
 * @param message - a message; one that quotes nothing is returned as it is
 */
export function withQuoteDeleted(message: MessageData): MessageData {
  if (message.replyTo === undefined || message.replyTo.deleted === true) return message;
  const { messageId, senderId, kind } = message.replyTo;
  return frozenMessage({ ...message, replyTo: { messageId, senderId, kind, preview: '', deleted: true } });
}

/**
 * The message as it is after a change, as a device shows it: an `edit` sets the text and `editedAt`; a `delete`
 * leaves a tombstone (text, photo, quote and reactions gone, `deletedAt` set); a `reaction` sets or takes back the
 * user's one emoji; a `hide` changes nothing in the message (a hidden message is left out of the user's lists).
 * An edit or a reaction that reaches a tombstone changes nothing: a deleted message stays deleted.
 *
 * @param message - the message as the device has it
 * @param change - a change to that message
 * @returns a frozen copy with the change applied
 * @throws ValidationError when the change is for another message
 *
 * @example
 * ```ts
 * import { applyMessageChange } from 'chat-room'
 * const edited = applyMessageChange(message, { kind: 'edit', threadId, messageId: message.id, seq: message.seq,
 *   userId: 'alice', at: Date.now(), text: 'See you at 8' })
 * edited.text // 'See you at 8'
 * ```
 */
export function applyMessageChange(message: MessageData, change: MessageChange): MessageData {
  if (change.messageId !== message.id) {
    throw new ValidationError(`a change to ${change.messageId} cannot apply to ${message.id}`);
  }
  if (message.deletedAt !== undefined && change.kind !== 'delete') return message;
  switch (change.kind) {
    case 'edit':
      return frozenMessage({ ...message, text: change.text ?? message.text, editedAt: change.at });
    case 'delete': {
      if (message.deletedAt !== undefined) return message;
      const { media: _media, replyTo: _replyTo, reactions: _reactions, ...kept } = message;
      return frozenMessage({ ...kept, text: '', deletedAt: change.at });
    }
    case 'reaction':
      return frozenMessage(withReaction(message, change.userId, change.emoji ?? null));
    case 'hide':
      return message;
  }
}

/** The message with one user's reaction set to `emoji` (or taken back, `null`): one emoji per user. */
function withReaction(message: MessageData, userId: string, emoji: string | null): MessageData {
  const reactions = reactionsAfter(message.reactions, userId, emoji);
  const { reactions: _old, ...rest } = message;
  return reactions === undefined ? rest : { ...rest, reactions };
}

/**
 * A message's reactions after a user chose `emoji` (`null`: took theirs back). One emoji per user: the user leaves
 * the emoji they had and joins the end of the new one's list; an emoji nobody has left goes; emojis keep the order
 * they were first chosen. `undefined` when no reaction is left. Every store applies reactions with it.
 *
 * @param reactions - the reactions now
 * @param userId - who reacts
 * @param emoji - their emoji, or `null`
 */
export function reactionsAfter(
  reactions: MessageData['reactions'],
  userId: string,
  emoji: string | null,
): Record<string, string[]> | undefined {
  const next: Record<string, string[]> = {};
  for (const [e, users] of Object.entries(reactions ?? {})) {
    const others = users.filter((id) => id !== userId);
    if (others.length > 0) next[e] = others;
  }
  if (emoji !== null) next[emoji] = [...(next[emoji] ?? []), userId];
  return Object.keys(next).length === 0 ? undefined : next;
}
