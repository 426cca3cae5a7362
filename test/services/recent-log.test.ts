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

  test('a gap (another node wrote in between) starts a new run; older positions are no longer answered', () => {
    const log = new RecentLog();
    log.noteEntries([entry('bob', 1, message('t', 1, 'alice')), entry('bob', 2, message('t', 2, 'alice'))]);
    log.noteEntries([entry('bob', 5, message('t', 5, 'alice'))]);
    expect(log.highestReceived('bob', 0, 2)).toBeUndefined();
    expect(log.highestReceived('bob', 4, 5)).toEqual(new Map([['t', 5]]));
    expect(log.highestReceived('bob', 3, 5)).toBeUndefined(); // 4 was written elsewhere
    // An entry that finishes late, behind the run, changes nothing.
    log.noteEntries([entry('bob', 4, message('t', 4, 'alice'))]);
    expect(log.highestReceived('bob', 3, 5)).toBeUndefined();
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
});
