import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InMemoryMessageStore } from '../../src';

/**
 * What the in-memory store keeps per item: a server that stores every message and receipt in memory grows by this
 * much per message, and the garbage collector copies and marks whatever of it is on the JavaScript heap. Receipts
 * are the most numerous items (two per message when replies flow). Neither should keep an object of its own: the
 * store's columns, texts and keys included, are typed arrays.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The heap in use and the buffers of typed arrays (where the store keeps its numbers), after collecting. */
function usedAfterGc(): { heap: number; total: number } {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed, total: heapUsed + arrayBuffers };
}

describe('InMemoryMessageStore retention', () => {
  it('keeps a stored message, its text and key included, in under 250 bytes, and none of it on the heap', async () => {
    const store = new InMemoryMessageStore();
    const at = Date.now();
    const count = 40_000;
    // Texts and keys as the server gets them: flat strings parsed from a frame.
    const send = (i: number) =>
      store.appendMessage(
        JSON.parse(
          JSON.stringify({
            threadId: `d:u${i % 50}:v${i % 50}`,
            senderId: `u${i % 50}`,
            kind: 'text',
            text: `message ${i} `.padEnd(64, '.'),
            clientMessageId: `c${i}`,
            sentAt: at + i,
            recipientIds: [`v${i % 50}`],
          }),
        ),
      );
    for (let i = 0; i < 5_000; i++) await send(i);
    const before = usedAfterGc();
    for (let i = 5_000; i < 5_000 + count; i++) await send(i);
    // A message object, its id and a boxed time each (the layout before columns) came to about 330 bytes; the
    // columns with the text and key as strings, about 226, of which about 110 on the heap.
    const after = usedAfterGc();
    expect((after.total - before.total) / count).toBeLessThan(250);
    expect((after.heap - before.heap) / count).toBeLessThan(8);
    const [message] = await store.listMessages('d:u7:v7', 100, 101, 1);
    expect(message).toEqual({
      id: 'd:u7:v7#101',
      threadId: 'd:u7:v7',
      seq: 101,
      senderId: 'u7',
      kind: 'text',
      text: 'message 5007 '.padEnd(64, '.'),
      clientMessageId: 'c5007',
      sentAt: at + 5007,
    });
  });

  it('keeps a stored receipt in under 80 bytes, and none of it on the heap', async () => {
    const store = new InMemoryMessageStore();
    const count = 40_000;
    const at = Date.now();
    // Warm the append path first, so it runs optimized as in a busy server (where V8 once gave each stored
    // receipt object a hidden class of its own, about 300 bytes each; an object each came to about 80).
    for (let i = 0; i < 5_000; i++) {
      await store.appendEntry('warm', {
        type: 'receipt',
        receipt: { threadId: 'd:a:b', status: 'delivered', upToSeq: i + 1, at: at + i },
      });
    }
    const before = usedAfterGc();
    for (let i = 0; i < count; i++) {
      await store.appendEntry(`u${i % 100}`, {
        type: 'receipt',
        receipt: {
          threadId: 'd:a:b',
          status: i % 2 === 0 ? 'delivered' : 'read',
          upToSeq: i + 1,
          at: at + i,
        },
      });
    }
    const after = usedAfterGc();
    expect((after.total - before.total) / count).toBeLessThan(80);
    // As numbers in typed arrays: nothing per receipt for the collector to copy or mark (an object each, 80).
    expect((after.heap - before.heap) / count).toBeLessThan(8);
    // Still there, and still what was stored.
    const page = await store.readInbox('u7', 0, 1);
    expect(page.entries[0]).toMatchObject({ type: 'receipt', receipt: { upToSeq: 8, status: 'read' } });
  });
});
