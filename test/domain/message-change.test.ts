/**
 * The domain rules of conversations: one emoji per reaction, the edit and delete windows, reply quotes, and how a
 * device turns a message and a change into the message as it is now.
 */
import type { MessageChange, MessageData } from 'chat-room';
import {
  ChatFeed,
  DEFAULT_DELETE_WINDOW_MS,
  DEFAULT_EDIT_WINDOW_MS,
  DELETED_PREVIEW,
  Group,
  Message,
  REPLY_PREVIEW_LENGTH,
  ValidationError,
  applyMessageChange,
  messagePreview,
  quoteOf,
  requireGroupRecord,
  requireReaction,
  withQuoteDeleted,
  withinWindow,
} from 'chat-room';

const TEXT: MessageData = {
  id: 'group:g1#3',
  threadId: 'group:g1',
  seq: 3,
  senderId: 'alice',
  kind: 'text',
  text: 'See you at 7',
  clientMessageId: 'c3',
  sentAt: 1_000,
};

function change(kind: MessageChange['kind'], extra: Partial<MessageChange> = {}): MessageChange {
  return {
    kind,
    threadId: TEXT.threadId,
    messageId: TEXT.id,
    seq: TEXT.seq,
    userId: 'bob',
    at: 2_000,
    ...extra,
  };
}

describe('requireReaction: exactly one emoji', () => {
  it.each([
    ['a face', '😀'],
    ['a thumb with a skin tone', '👍🏽'],
    ['a heart with its emoji selector', '❤️'],
    ['a ZWJ sequence', '👩‍💻'],
    ['a family', '👨‍👩‍👧‍👦'],
    ['a country flag', '🇵🇹'],
    ['a tag flag', '🏴󠁧󠁢󠁳󠁣󠁴󠁿'],
    ['a keycap', '1️⃣'],
    ['a keycap without the selector', '#⃣'],
  ])('accepts %s', (_, emoji) => {
    expect(requireReaction(emoji)).toBe(emoji);
  });

  it.each([
    ['an empty string', ''],
    ['a letter', 'a'],
    ['a word', 'ok'],
    ['a digit alone', '1'],
    ['two emoji', '👍👍'],
    ['an emoji and a space', '👍 '],
    ['text around an emoji', 'x😀'],
    ['one regional indicator', '🇵'],
    ['an accented letter', 'é'],
    ['a very long string', '😀'.repeat(40)],
    ['null', null],
    ['a number', 42],
  ])('refuses %s with VALIDATION on the field emoji', (_, value) => {
    let error: unknown;
    try {
      requireReaction(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details.field).toBe('emoji');
  });
});

describe('windows', () => {
  it('default to 15 minutes for edits and 48 hours for deletes', () => {
    expect(DEFAULT_EDIT_WINDOW_MS).toBe(15 * 60_000);
    expect(DEFAULT_DELETE_WINDOW_MS).toBe(48 * 3_600_000);
  });

  it('include their last millisecond and nothing after it', () => {
    expect(withinWindow(1_000, 1_000, DEFAULT_EDIT_WINDOW_MS)).toBe(true);
    expect(withinWindow(1_000, 1_000 + DEFAULT_EDIT_WINDOW_MS, DEFAULT_EDIT_WINDOW_MS)).toBe(true);
    expect(withinWindow(1_000, 1_000 + DEFAULT_EDIT_WINDOW_MS + 1, DEFAULT_EDIT_WINDOW_MS)).toBe(false);
  });
});

describe('quoteOf', () => {
  it('keeps the sender, the kind and the first 100 characters', () => {
    const long = { ...TEXT, text: 'x'.repeat(150) };
    expect(quoteOf(long)).toEqual({
      messageId: TEXT.id,
      senderId: 'alice',
      kind: 'text',
      preview: 'x'.repeat(REPLY_PREVIEW_LENGTH),
    });
    expect(quoteOf(TEXT).preview).toBe('See you at 7');
  });

  it('counts characters, so an emoji is never cut in half', () => {
    const emoji = { ...TEXT, text: '😀'.repeat(120) };
    expect(quoteOf(emoji).preview).toBe('😀'.repeat(REPLY_PREVIEW_LENGTH));
  });

  it('becomes a "deleted" quote without words when the answered message is deleted', () => {
    const reply = { ...TEXT, id: 'group:g1#4', seq: 4, replyTo: quoteOf(TEXT) };
    expect(withQuoteDeleted(reply).replyTo).toEqual({
      messageId: TEXT.id,
      senderId: 'alice',
      kind: 'text',
      preview: '',
      deleted: true,
    });
    expect(withQuoteDeleted(TEXT)).toBe(TEXT);
  });
});

describe('applyMessageChange', () => {
  it('an edit sets the text and editedAt', () => {
    const edited = applyMessageChange(TEXT, change('edit', { userId: 'alice', text: 'See you at 8' }));
    expect(edited).toMatchObject({ text: 'See you at 8', editedAt: 2_000, sentAt: 1_000 });
    expect(Object.isFrozen(edited)).toBe(true);
  });

  it('a delete leaves a tombstone: no text, no photo, no quote, no reactions', () => {
    const rich: MessageData = {
      ...TEXT,
      kind: 'photo',
      text: 'the view',
      media: {
        mediaId: 'm1',
        mimeType: 'image/jpeg',
        bytes: 10,
        width: 1,
        height: 1,
        thumbnailId: 'm1-t',
      },
      replyTo: { messageId: 'group:g1#1', senderId: 'bob', kind: 'text', preview: 'hi' },
      reactions: { '👍': ['bob'] },
    };
    const tombstone = applyMessageChange(rich, change('delete', { userId: 'alice' }));
    expect(tombstone).toEqual({
      id: TEXT.id,
      threadId: TEXT.threadId,
      seq: 3,
      senderId: 'alice',
      kind: 'photo',
      text: '',
      clientMessageId: 'c3',
      sentAt: 1_000,
      deletedAt: 2_000,
    });
    expect(messagePreview(tombstone)).toBe(DELETED_PREVIEW);
  });

  it('a reaction is one emoji per user: set, replaced, taken back', () => {
    let m = applyMessageChange(TEXT, change('reaction', { userId: 'bob', emoji: '👍' }));
    m = applyMessageChange(m, change('reaction', { userId: 'carol', emoji: '👍' }));
    expect(m.reactions).toEqual({ '👍': ['bob', 'carol'] });
    m = applyMessageChange(m, change('reaction', { userId: 'bob', emoji: '😂' }));
    expect(m.reactions).toEqual({ '👍': ['carol'], '😂': ['bob'] });
    m = applyMessageChange(m, change('reaction', { userId: 'carol', emoji: null }));
    m = applyMessageChange(m, change('reaction', { userId: 'bob', emoji: null }));
    expect(m).not.toHaveProperty('reactions');
  });

  it('a tombstone stays one: a late edit or reaction changes nothing', () => {
    const tombstone = applyMessageChange(TEXT, change('delete', { userId: 'alice' }));
    expect(applyMessageChange(tombstone, change('edit', { text: 'back' }))).toBe(tombstone);
    expect(applyMessageChange(tombstone, change('reaction', { emoji: '👍' }))).toBe(tombstone);
  });

  it('a hide changes nothing in the message', () => {
    expect(applyMessageChange(TEXT, change('hide'))).toBe(TEXT);
  });

  it('refuses a change for another message', () => {
    expect(() => applyMessageChange(TEXT, change('edit', { messageId: 'group:g1#9' }))).toThrow(
      ValidationError,
    );
  });

  it('a Message carries the new fields and its status through a change', () => {
    const m = new Message({ ...TEXT, replyTo: quoteOf({ ...TEXT, id: 'group:g1#1', seq: 1 }) }, 'read');
    const edited = new Message(applyMessageChange(m, change('edit', { text: 'later' })), m.status);
    expect(edited.toJSON()).toMatchObject({ text: 'later', editedAt: 2_000, status: 'read' });
    expect(edited.replyTo?.messageId).toBe('group:g1#1');
    expect(edited.deleted).toBe(false);
    const gone = new Message(applyMessageChange(edited, change('delete')));
    expect(gone.deleted).toBe(true);
    expect(gone.toJSON()).not.toHaveProperty('replyTo');
  });
});

describe("a group remembers where each later member's history starts", () => {
  it('records the thread seq at joining, forgets it when they leave, and keeps it in the record', () => {
    const g = new Group({ id: 'g1', name: 'Trip', ownerId: 'alice', memberIds: ['bob'] });
    g.add('alice', ['carol'], 7);
    expect(g.joinedAtSeq('alice')).toBe(0);
    expect(g.joinedAtSeq('carol')).toBe(7);
    const record = g.toRecord();
    expect(record.joinedAtSeq).toEqual({ carol: 7 });
    expect(Group.restore(requireGroupRecord(JSON.parse(JSON.stringify(record)))).joinedAtSeq('carol')).toBe(
      7,
    );
    g.leave('carol');
    expect(g.toRecord()).not.toHaveProperty('joinedAtSeq');
    g.add('alice', ['carol'], 12);
    expect(g.joinedAtSeq('carol')).toBe(12);
  });

  it('loads a record written before the field existed: everyone sees the whole thread', () => {
    const old = {
      id: 'g1',
      name: 'Trip',
      ownerId: 'alice',
      adminIds: ['alice'],
      memberIds: ['alice', 'bob'],
      sizeLimit: 10,
    };
    const g = Group.restore(requireGroupRecord(old));
    expect(g.joinedAtSeq('bob')).toBe(0);
    expect(requireGroupRecord(old)).not.toHaveProperty('joinedAtSeq');
  });

  it('refuses a record whose joinedAtSeq names a non-member or is not a seq', () => {
    const base = { id: 'g1', name: 'Trip', adminIds: [], memberIds: ['bob'], sizeLimit: 10 };
    expect(() => requireGroupRecord({ ...base, joinedAtSeq: { mallory: 3 } })).toThrow(ValidationError);
    expect(() => requireGroupRecord({ ...base, joinedAtSeq: { bob: -1 } })).toThrow(ValidationError);
    expect(() => requireGroupRecord({ ...base, joinedAtSeq: [] })).toThrow(ValidationError);
  });

  it('refuses a malformed seq when adding, and adds no one', () => {
    const g = new Group({ id: 'g1', name: 'Trip', ownerId: 'alice' });
    expect(() => g.add('alice', ['bob'], -1)).toThrow(ValidationError);
    expect(g.isMember('bob')).toBe(false);
  });
});

describe('ChatFeed.updatePreview', () => {
  it("replaces the latest message's preview without reordering or counting anything", () => {
    const feed = new ChatFeed();
    feed.recordMessage('a', { seq: 1, at: 1_000, preview: 'first', incoming: true, title: 'A' });
    feed.recordMessage('b', { seq: 1, at: 2_000, preview: 'second', incoming: true, title: 'B' });
    expect(feed.updatePreview('a', 1, 'first, edited')?.preview).toBe('first, edited');
    expect(feed.top(2).map((e) => [e.threadId, e.preview, e.unread])).toEqual([
      ['b', 'second', 1],
      ['a', 'first, edited', 1],
    ]);
    // Not the latest message of its thread, or a thread not in the feed: nothing changes.
    feed.recordMessage('b', { seq: 2, at: 3_000, preview: 'third', incoming: false });
    expect(feed.updatePreview('b', 1, 'old one edited')?.preview).toBe('third');
    expect(feed.updatePreview('zzz', 1, 'x')).toBeUndefined();
    expect(feed.get('b')?.preview).toBe('third');
  });
});
