import type { MessageData, MessageStatus } from 'chat-room';
import { Message, compareStatus, messageId, parseMessageId } from 'chat-room';

const DATA: MessageData = {
  id: 'dm:alice:bob#1',
  threadId: 'dm:alice:bob',
  seq: 1,
  senderId: 'alice',
  kind: 'text',
  text: 'Hello Gainlo',
  clientMessageId: 'c1',
  sentAt: 1_000,
};

describe('Message', () => {
  it('starts as sent (one check) and carries the stored fields', () => {
    const m = new Message(DATA);
    expect(m.status).toBe('sent');
    expect(m.from).toBe('alice');
    expect(m.toJSON()).toEqual({ ...DATA, status: 'sent' });
  });

  it('moves forward sent → delivered → read', () => {
    const m = new Message(DATA);
    expect(m.advanceStatus('delivered')).toBe(true);
    expect(m.status).toBe('delivered');
    expect(m.advanceStatus('read')).toBe(true);
    expect(m.status).toBe('read');
  });

  it('may skip straight to read', () => {
    const m = new Message(DATA);
    expect(m.advanceStatus('read')).toBe(true);
    expect(m.status).toBe('read');
  });

  it.each<[MessageStatus, MessageStatus]>([
    ['delivered', 'sent'],
    ['delivered', 'delivered'],
    ['read', 'delivered'],
    ['read', 'sent'],
    ['read', 'read'],
    ['sent', 'sent'],
  ])('never moves back or sideways: from %s, %s changes nothing', (from, to) => {
    const m = new Message(DATA, from);
    expect(m.advanceStatus(to)).toBe(false);
    expect(m.status).toBe(from);
    expect(m.toJSON().status).toBe(from);
  });

  it('does not share state with the data it was made from', () => {
    const data: { -readonly [K in keyof MessageData]: MessageData[K] } = { ...DATA };
    const m = new Message(data);
    data.text = 'changed';
    expect(m.text).toBe('Hello Gainlo');
  });

  it('orders statuses by ticks', () => {
    expect(compareStatus('sent', 'delivered')).toBeLessThan(0);
    expect(compareStatus('delivered', 'read')).toBeLessThan(0);
    expect(compareStatus('read', 'sent')).toBeGreaterThan(0);
    expect(compareStatus('delivered', 'delivered')).toBe(0);
  });
});

describe('message ids', () => {
  it('name a thread and a seq, and read back only in the form given', () => {
    expect(messageId('dm:alice:bob', 12)).toBe('dm:alice:bob#12');
    expect(parseMessageId('dm:alice:bob#12')).toEqual({ threadId: 'dm:alice:bob', seq: 12 });
    // A thread id may hold '#': the seq is after the last one.
    expect(parseMessageId(messageId('g#1', 3))).toEqual({ threadId: 'g#1', seq: 3 });
    for (const other of [
      'dm:alice:bob#012',
      'dm:alice:bob#1.0',
      'dm:alice:bob#0',
      'dm:alice:bob#-1',
      '#1',
      'dm:alice:bob',
      't#1e3',
    ])
      expect(parseMessageId(other)).toBeUndefined();
  });
});
