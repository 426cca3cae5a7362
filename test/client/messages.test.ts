import type { Message, MessageChange } from 'chat-room';
import { DELETED_PREVIEW, NotFoundError, PermissionError, ValidationError } from 'chat-room';
import type { ChatClient } from 'chat-room/client';
import { next } from '../support/client-events';
import { sdkRig } from './sdk-rig';

// Replies, edits, deletes, reactions and history through the SDK and a real server: each member's devices hear
// every change once, the local chat list follows, and history shows the messages as they are now.

jest.setTimeout(20_000);

const { start, client } = sdkRig();

/** Records the `change` events a client hears. */
function changes(c: ChatClient): MessageChange[] {
  const heard: MessageChange[] = [];
  c.on('change', (change) => heard.push(change));
  return heard;
}

describe('ChatClient message actions', () => {
  it('replies, edits, reacts and deletes; both sides hear each change, and history shows the result', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    await Promise.all([alice.connect(), bob.connect()]);
    const aliceHeard = changes(alice);
    const bobHeard = changes(bob);

    const bobGot = next(bob, 'message');
    const question = await alice.send({ to: 'bob', text: 'lunch at noon?' });
    await bobGot;
    const aliceGot = next(alice, 'message');
    const answer = await bob.reply(question.messageId, { to: 'alice', text: 'yes!' });
    const [reply] = (await aliceGot) as [Message];
    expect(reply).toEqual(expect.objectContaining({ id: answer.messageId, text: 'yes!' }));
    expect(reply.replyTo).toEqual(
      expect.objectContaining({
        messageId: question.messageId,
        senderId: 'alice',
        preview: 'lunch at noon?',
      }),
    );

    const edited = next(bob, 'change', (c) => c.kind === 'edit');
    await alice.edit(question.messageId, 'lunch at one?');
    expect((await edited)[0]).toEqual(
      expect.objectContaining({ messageId: question.messageId, userId: 'alice', text: 'lunch at one?' }),
    );
    const reacted = next(alice, 'change', (c) => c.kind === 'reaction');
    await bob.react(question.messageId, '👍');
    expect((await reacted)[0]).toEqual(
      expect.objectContaining({ messageId: question.messageId, userId: 'bob', emoji: '👍' }),
    );
    const deleted = next(alice, 'change', (c) => c.kind === 'delete');
    await bob.deleteMessage(answer.messageId, { forEveryone: true });
    await deleted;
    // The reply was the thread's latest message: the chat lists show it deleted.
    expect(alice.feed.get(question.threadId)?.preview).toBe(DELETED_PREVIEW);

    const page = await alice.history(question.threadId);
    expect(page.hasMore).toBe(false);
    expect(page.messages.map((m) => m.id)).toEqual([answer.messageId, question.messageId]);
    expect(page.messages[0]).toEqual(expect.objectContaining({ text: '', deletedAt: expect.any(Number) }));
    expect(page.messages[1]).toEqual(
      expect.objectContaining({
        text: 'lunch at one?',
        editedAt: expect.any(Number),
        reactions: { '👍': ['bob'] },
      }),
    );
    // Each side heard each change exactly once, its own too.
    const kinds = (heard: MessageChange[]): string[] => heard.map((c) => c.kind);
    await bob.history(question.threadId); // a round trip: whatever was on its way has arrived
    expect(kinds(aliceHeard)).toEqual(['edit', 'reaction', 'delete']);
    expect(kinds(bobHeard)).toEqual(['edit', 'reaction', 'delete']);
  });

  it('deletes for oneself: gone from that user’s history only', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    await Promise.all([alice.connect(), bob.connect()]);
    const first = await alice.send({ to: 'bob', text: 'one' });
    const second = await alice.send({ to: 'bob', text: 'two' });
    const hidden = next(bob, 'change', (c) => c.kind === 'hide');
    await bob.deleteMessage(first.messageId, { forEveryone: false });
    await hidden;
    expect((await bob.history(first.threadId)).messages.map((m) => m.id)).toEqual([second.messageId]);
    expect((await alice.history(first.threadId)).messages.map((m) => m.id)).toEqual([
      second.messageId,
      first.messageId,
    ]);
  });

  it('refuses with typed errors: someone else’s message, not one emoji, a stranger’s thread', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    const carol = client(server, 'carol');
    await Promise.all([alice.connect(), bob.connect(), carol.connect()]);
    const sent = await alice.send({ to: 'bob', text: 'mine' });

    await expect(bob.edit(sent.messageId, 'yours now')).rejects.toBeInstanceOf(PermissionError);
    await expect(bob.react(sent.messageId, 'two words')).rejects.toBeInstanceOf(ValidationError);
    await expect(carol.react(sent.messageId, '👍')).rejects.toBeInstanceOf(NotFoundError);
    await expect(carol.history(sent.threadId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(alice.deleteMessage(sent.messageId, {} as { forEveryone: boolean })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('a change retried with the same clientChangeId applies once', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    await Promise.all([alice.connect(), bob.connect()]);
    const bobHeard = changes(bob);
    const sent = await alice.send({ to: 'bob', text: 'party?' });
    await alice.react(sent.messageId, '🎉', { clientChangeId: 'react-1' });
    await alice.react(sent.messageId, '🎉', { clientChangeId: 'react-1' });
    const marker = next(bob, 'message', (m) => m.text === 'marker');
    await alice.send({ to: 'bob', text: 'marker' });
    await marker;
    expect(bobHeard.map((c) => [c.kind, c.emoji])).toEqual([['reaction', '🎉']]);
  });

  it('pages back through history with before and limit', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    await alice.connect();
    for (const text of ['1', '2', '3', '4', '5']) await alice.send({ to: 'bob', text });
    const texts = (page: { messages: readonly { text: string }[] }): string[] =>
      page.messages.map((m) => m.text);

    const newest = await alice.history('dm:alice:bob', { limit: 2 });
    expect([texts(newest), newest.hasMore]).toEqual([['5', '4'], true]);
    const older = await alice.history('dm:alice:bob', { before: 4, limit: 2 });
    expect([texts(older), older.hasMore]).toEqual([['3', '2'], true]);
    const oldest = await alice.history('dm:alice:bob', { before: 2, limit: 2 });
    expect([texts(oldest), oldest.hasMore]).toEqual([['1'], false]);
  });
});
