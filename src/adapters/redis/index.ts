/**
 * The Redis adapters, for many nodes: a `PresenceStore` every node reads (TTL heartbeats, so a crashed node's
 * users go offline within one TTL) and a `ClusterBus` (pub/sub fan-out of inbox entries, presence and directory
 * changes). They import `ioredis` (an optional peer dependency), so they live behind their own entry,
 * `chat-room/redis`, and take ready clients: the connection settings are the caller's.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * import { RedisClusterBus, RedisPresenceStore } from 'chat-room/redis'
 * const client = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 })
 * const presenceStore = new RedisPresenceStore({ client })
 * const bus = new RedisClusterBus({ pub: client, sub: client.duplicate(), nodeId: 'node-1' })
 * ```
 *
 * @module
 */
export * from './redis-presence-store';
export * from './redis-cluster-bus';
