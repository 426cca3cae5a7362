import type { InboxEntry, MessageData } from 'chat-room';
import { RecentLog } from 'chat-room';

const message = (threadId: string, seq: number, senderId: string): MessageData => ({
  id: `${threadId}#${seq}`,
  threadId,
  seq,
  senderId,
  kind: 'text',
  text: 'hi',
  clientMessageId: `c${seq}`,
  sentAt: seq,
});
const entry = (userId: string, inboxSeq: number, m: MessageData): InboxEntry => ({
  type: 'message',
  message: m,
  userId,
  inboxSeq,
});
const receipt = (userId: string, inboxSeq: number): InboxEntry => ({
  type: 'receipt',
  receipt: { threadId: 'dm:a:b', status: 'delivered', upToSeq: 1, at: 1 },
  userId,
  inboxSeq,
});

describe('RecentLog: what this node appended lately', () => {
  test('answers for a range it holds in full: messages from others, with their thread and seq', () => {
    const log = new RecentLog();
    log.noteEntries([
      entry('bob', 1, message('dm:a:b', 1, 'alice')),
      entry('bob', 2, message('dm:a:b', 2, 'bob')), // bob's own
      receipt('bob', 3),
      entry('bob', 4, message('dm:b:c', 1, 'carol')),
    ]);
    expect(log.highestReceived('bob', 0, 4)).toEqual(
      new Map([
        ['dm:a:b', 1],
        ['dm:b:c', 1],
      ]),
    );
    expect(log.highestReceived('bob', 1, 3)).toEqual(new Map());
    expect(log.highestReceived('bob', 4, 4)).toEqual(new Map());
    expect(log.reaches('bob', 4)).toBe(true);
    // Beyond what it holds, or for someone it knows nothing of: no answer, the store decides.
    expect(log.reaches('bob', 5)).toBe(false);
    expect(log.highestReceived('bob', 0, 5)).toBeUndefined();
    expect(log.highestReceived('carol', 0, 1)).toBeUndefined();
  });

  test('a range with several messages of one thread answers its highest seq', () => {
    const log = new RecentLog();
    log.noteEntries([
      entry('bob', 1, message('t', 1, 'alice')),
      entry('bob', 2, message('t', 2, 'alice')),
      entry('bob', 3, message('u', 7, 'carol')),
    ]);
    expect(log.highestReceived('bob', 0, 3)).toEqual(
      new Map([
        ['t', 2],
        ['u', 7],
      ]),
    );
  });

  test('a gap (written elsewhere, or not finished yet) gets no answer until it is noted', () => {
    const log = new RecentLog();
    log.noteEntries([entry('bob', 1, message('t', 1, 'alice')), entry('bob', 2, message('t', 2, 'alice'))]);
    log.noteEntries([entry('bob', 5, message('t', 5, 'alice'))]);
    // Either side of the gap is still answered.
    expect(log.highestReceived('bob', 0, 2)).toEqual(new Map([['t', 2]]));
    expect(log.highestReceived('bob', 4, 5)).toEqual(new Map([['t', 5]]));
    expect(log.reaches('bob', 5)).toBe(true);
    // 3 and 4 are not known here: a range over them is the store's to answer.
    expect(log.highestReceived('bob', 2, 5)).toBeUndefined();
    expect(log.highestReceived('bob', 3, 4)).toBeUndefined();
    // Entries that finish late (a batch of a durable store) fill the gap.
    log.noteEntries([entry('bob', 4, message('t', 4, 'alice'))]);
    expect(log.highestReceived('bob', 3, 5)).toEqual(new Map([['t', 5]]));
    expect(log.highestReceived('bob', 2, 5)).toBeUndefined();
    log.noteEntries([receipt('bob', 3)]);
    expect(log.highestReceived('bob', 0, 5)).toEqual(new Map([['t', 5]]));
    // What is known stays: a second note of a position changes nothing.
    log.noteEntries([entry('bob', 3, message('u', 9, 'carol'))]);
    expect(log.highestReceived('bob', 2, 3)).toEqual(new Map());
  });

  test('a jump beyond the window starts a new run; positions behind it are no longer answered', () => {
    const log = new RecentLog(4);
    log.noteEntries([entry('bob', 1, message('t', 1, 'alice'))]);
    log.noteEntries([entry('bob', 10, message('t', 10, 'alice'))]);
    expect(log.highestReceived('bob', 0, 1)).toBeUndefined();
    expect(log.highestReceived('bob', 9, 10)).toEqual(new Map([['t', 10]]));
    log.noteEntries([entry('bob', 9, message('t', 9, 'alice'))]); // behind the new run: nothing new
    expect(log.highestReceived('bob', 8, 10)).toBeUndefined();
  });

  test('senders of a thread’s messages, for a range held in full', () => {
    const log = new RecentLog();
    log.noteMessage('t', 1, 'alice');
    log.noteMessage('t', 2, 'bob');
    log.noteMessage('t', 3, 'alice');
    expect(log.senders('t', 0, 3)).toEqual(new Set(['alice', 'bob']));
    expect(log.senders('t', 2, 3)).toEqual(new Set(['alice']));
    expect(log.senders('t', 3, 3)).toEqual(new Set());
    expect(log.senders('t', 0, 4)).toBeUndefined();
    expect(log.senders('u', 0, 1)).toBeUndefined();
    // A message not noted yet (5, while 6 is) leaves the range over it to the store.
    log.noteMessage('t', 6, 'bob');
    expect(log.senders('t', 3, 6)).toBeUndefined();
    log.noteMessage('t', 4, 'alice');
    log.noteMessage('t', 5, 'carol');
    expect(log.senders('t', 3, 6)).toEqual(new Set(['alice', 'carol', 'bob']));
  });

  test('keeps only the newest positions, and a bounded number of windows', () => {
    const log = new RecentLog(4, 2);
    for (let seq = 1; seq <= 20; seq++) log.noteMessage('t', seq, seq % 2 === 0 ? 'bob' : 'alice');
    expect(log.senders('t', 0, 20)).toBeUndefined();
    expect(log.senders('t', 16, 20)).toEqual(new Set(['alice', 'bob']));
    log.noteMessage('u', 1, 'carol');
    log.noteMessage('v', 1, 'dave'); // a third thread: the oldest window goes
    expect(log.senders('t', 19, 20)).toBeUndefined();
    expect(log.senders('v', 0, 1)).toEqual(new Set(['dave']));
  });

  test('forgets every window once it has named four ids per window it may keep, and goes on from there', () => {
    const log = new RecentLog(4, 2); // up to 8 names
    for (let seq = 1; seq <= 7; seq++) log.noteMessage('t', seq, `u${seq}`); // t and seven senders' names
    log.noteEntries([entry('bob', 1, message('t', 7, 'u7'))]);
    expect(log.senders('t', 6, 7)).toEqual(new Set(['u7']));
    expect(log.highestReceived('bob', 0, 1)).toEqual(new Map([['t', 7]]));
    log.noteMessage('t', 8, 'u8'); // the ninth name
    expect(log.senders('t', 6, 7)).toBeUndefined();
    expect(log.highestReceived('bob', 0, 1)).toBeUndefined();
    expect(log.reaches('bob', 1)).toBe(false);
    expect(log.senders('t', 7, 8)).toEqual(new Set(['u8']));
  });

  test('an inbox window keeps what its user has not acknowledged, up to eight times its capacity', () => {
    const log = new RecentLog(4);
    const fill = (from: number, to: number): void => {
      for (let p = from; p <= to; p++) log.noteEntries([entry('bob', p, message('t', p, 'alice'))]);
    };
    fill(1, 2);
    log.acknowledged('bob', 2);
    fill(3, 20); // acks trail: 3 … 20 are all still wanted
    expect(log.highestReceived('bob', 2, 20)).toEqual(new Map([['t', 20]]));
    log.acknowledged('bob', 20);
    fill(21, 30); // once acknowledged, the old positions go with the next trim
    expect(log.highestReceived('bob', 2, 20)).toBeUndefined();
    expect(log.highestReceived('bob', 20, 30)).toEqual(new Map([['t', 30]]));
    fill(31, 70); // never acknowledged past 20: bounded all the same
    expect(log.highestReceived('bob', 20, 30)).toBeUndefined();
    expect(log.highestReceived('bob', 66, 70)).toEqual(new Map([['t', 70]]));
  });

  test('a thread window keeps the senders below what both kinds of receipt have announced', () => {
    const log = new RecentLog(4);
    const fill = (from: number, to: number): void => {
      for (let seq = from; seq <= to; seq++) log.noteMessage('t', seq, seq % 2 === 0 ? 'bob' : 'alice');
    };
    fill(1, 2);
    log.announced('t', 'delivered', 2);
    log.announced('t', 'read', 1); // read receipts trail the delivered ones
    fill(3, 20);
    expect(log.senders('t', 1, 20)).toEqual(new Set(['alice', 'bob']));
    log.announced('t', 'read', 18);
    expect(log.senders('t', 1, 20)).toEqual(new Set(['alice', 'bob'])); // nothing dropped before the next trim
    log.announced('t', 'delivered', 20);
    fill(21, 30);
    expect(log.senders('t', 1, 20)).toBeUndefined();
    expect(log.senders('t', 18, 30)).toEqual(new Set(['alice', 'bob']));
  });
});
