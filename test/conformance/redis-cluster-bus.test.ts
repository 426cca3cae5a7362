import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { RedisClusterBus } from 'chat-room/redis';
import { clusterBusSuite } from 'chat-room/testing';
import { redisOrSkip } from '../support/services';

const url = redisOrSkip('RedisClusterBus conformance');

(url === undefined ? describe.skip : describe)('Redis', () => {
  clusterBusSuite('RedisClusterBus', async () => {
    // A random prefix per test: channels of other tests (or other runs) never meet.
    const channelPrefix = `test:bus:${randomUUID()}:`;
    const clients: Redis[] = [];
    const client = (): Redis => {
      const made = new Redis(url ?? '', { maxRetriesPerRequest: 1 });
      clients.push(made);
      return made;
    };
    const node = (nodeId: string): RedisClusterBus =>
      new RedisClusterBus({ pub: client(), sub: client(), nodeId, channelPrefix });
    const raw = client();
    const nodes = [node('a'), node('b'), node('c')] as const;
    await Promise.all(clients.map((c) => (c.status === 'ready' ? undefined : once(c, 'ready'))));
    return {
      nodes,
      injectRaw: async (channel, message) => {
        await raw.publish(channelPrefix + channel, message);
      },
      close: async () => {
        await Promise.all(clients.map((c) => c.quit()));
      },
    };
  });
});
