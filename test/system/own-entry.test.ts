import type { ClientFrame, ClientLinkHandler, InboxEntry } from 'chat-room';
import { ChatSession, ManualClock, PROTOCOL_VERSION } from 'chat-room';
import { T0, watch } from './helpers';

/** A text message as entry `seq` of Alice's inbox (in this thread, inbox and thread order are the same). */
function entryOf(
  threadId: string,
  seq: number,
  senderId: string,
  text: string,
  clientMessageId: string,
  sentAt: number,
): InboxEntry {
  return {
    type: 'message',
    userId: 'alice',
    inboxSeq: seq,
    message: {
      id: `${threadId}#${seq}`,
      threadId,
      seq,
      senderId,
      kind: 'text',
      text,
      clientMessageId,
      sentAt,
    },
  };
}

/**
 * The server sends the device that sent a message no entry for it: the ack stands for it. The ack can overtake
 * an older entry only through a reordering no real server here produces, so a scripted link plays the server.
 */
describe('the sender’s own entry, applied from the ack', () => {
  test('an ack ahead of an older entry waits for it; each is applied once, in inbox order', async () => {
    const sent: ClientFrame[] = [];
    let server!: ClientLinkHandler;
    const session = new ChatSession(
      {
        open: (_identity, handler) => {
          server = handler;
          return { send: (f) => sent.push(f), close: () => undefined, open: true };
        },
      },
      { userId: 'alice', deviceId: 'phone', foreground: false, clock: new ManualClock(T0) },
    );
    const seen = watch(session);
    server.received({
      type: 'hello',
      v: PROTOCOL_VERSION,
      userId: 'alice',
      deviceId: 'phone',
      latest: 0,
      cursor: 0,
    });
    const sending = session.send({ to: 'bob', text: 'mine', clientMessageId: 'k1' });
    const { ref } = sent[0] as { ref: string };
    const threadId = 'dm:alice:bob';
    server.received({
      type: 'ack',
      ref,
      clientMessageId: 'k1',
      messageId: `${threadId}#2`,
      threadId,
      seq: 2,
      sentAt: T0 + 1,
      inboxSeq: 2,
    });
    expect(await sending).toMatchObject({ seq: 2 });
    // Entry 1 has not arrived: the device asks for the gap and applies nothing yet.
    expect(session.cursor).toBe(0);
    expect(seen.sent).toEqual([]);
    const theirs = entryOf(threadId, 1, 'bob', 'theirs', 'b1', T0);
    server.received({ type: 'entry', entry: theirs });
    expect(seen.messages.map((m) => m.text)).toEqual(['theirs']);
    expect(seen.sent.map((m) => [m.text, m.seq, m.senderId])).toEqual([['mine', 2, 'alice']]);
    expect(session.cursor).toBe(2);
    // The catch-up the gap started comes back with both entries: nothing is shown twice.
    const sync = sent.find((f) => f.type === 'sync') as { ref: string };
    const mine = entryOf(threadId, 2, 'alice', 'mine', 'k1', T0 + 1);
    server.received({
      type: 'synced',
      ref: sync.ref,
      entries: [theirs, mine],
      hasMore: false,
      cursor: 2,
      latest: 2,
    });
    await Promise.resolve();
    expect(seen.messages).toHaveLength(1);
    expect(seen.sent).toHaveLength(1);
    // Bob's message makes a tick, so its delivery is acknowledged at once, covering Alice's own entry too.
    expect(sent.filter((f) => f.type === 'delivered').map((f) => (f as { upTo: number }).upTo)).toContain(2);
  });
});
