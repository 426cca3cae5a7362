import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InMemoryMessageStore } from '../../src';

/**
 * What the in-memory store keeps per item, on the heap: a server that stores every message and receipt in memory
 * grows by this much per message, and the collector marks and copies it all. Receipts are the most numerous items
 * (two per message when replies flow), so their cost is checked.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function usedAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('InMemoryMessageStore retention', () => {
  it('keeps a stored receipt in under 160 bytes of heap, hot code included', async () => {
    const store = new InMemoryMessageStore();
    const count = 40_000;
    const at = Date.now();
    // Warm the append path first, so it runs optimized as in a busy server (where V8 once gave each stored
    // receipt a hidden class of its own, about 300 bytes each).
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
    const perReceipt = (usedAfterGc() - before) / count;
    expect(perReceipt).toBeLessThan(160);
    // Still there, and still what was stored.
    const page = await store.readInbox('u7', 0, 1);
    expect(page.entries[0]).toMatchObject({ type: 'receipt', receipt: { upToSeq: 8, status: 'read' } });
  });
});
