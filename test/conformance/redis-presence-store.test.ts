import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisPresenceStore } from 'chat-room/redis';
import { presenceStoreSuite } from 'chat-room/testing';
import { redisOrSkip } from '../support/services';

const url = redisOrSkip('RedisPresenceStore conformance');

(url === undefined ? describe.skip : describe)('Redis', () => {
  let client: Redis;
  const prefixes: string[] = [];

  beforeAll(() => {
    client = new Redis(url ?? '', { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
    }
    await client.quit();
  });

  presenceStoreSuite('RedisPresenceStore', async (clock) => {
    const keyPrefix = `test:presence:${randomUUID()}:`;
    prefixes.push(keyPrefix);
    return { store: new RedisPresenceStore({ client, keyPrefix, clock }) };
  });

  test('a stale record is freed by Redis retainMs after it went stale, and only then', async () => {
    const keyPrefix = `test:presence:${randomUUID()}:`;
    prefixes.push(keyPrefix);
    const store = new RedisPresenceStore({ client, keyPrefix, retainMs: 60_000 });
    await store.set({ userId: 'bob', status: 'online', lastActiveAt: 1, lastSeenAt: 1 }, 90_000);
    const ttl = await client.pttl(`${keyPrefix}bob`);
    expect(ttl).toBeGreaterThan(140_000);
    expect(ttl).toBeLessThanOrEqual(150_000);
    await store.set({ userId: 'bob', status: 'offline', lastActiveAt: 1, lastSeenAt: 1 }, 0);
    expect(await client.pttl(`${keyPrefix}bob`)).toBe(-1);
  });
});
