/**
 * What the Redis adapters do when Redis dies and comes back: a private `redis-server` (never the shared one) is
 * killed with SIGKILL and started again on the same port, keeping nothing on disk.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import { Redis } from 'ioredis';
import { StorageError, type ClusterNotice } from 'chat-room';
import { RedisClusterBus, RedisPresenceStore } from 'chat-room/redis';
import { clusterBusSuite } from 'chat-room/testing';
import { redisServerOrSkip } from '../support/services';

const serverPath = redisServerOrSkip('Redis outage tests');

jest.setTimeout(20_000);

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Whether something answers PING with PONG on the port. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.on('connect', () => socket.write('PING\r\n'));
  });
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A private redis-server on one port, which a test may kill and start again. */
class PrivateRedis {
  #process: ChildProcess | undefined;
  constructor(
    readonly path: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    this.#process = spawn(this.path, args, { stdio: 'ignore' });
    await until('redis-server to answer', () => pong(this.port));
  }

  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

/** Clients that retry fast, so a test's outage is short; each gets its own error listener. */
function clientsOf(url: string): { made: Redis[]; make(): Redis; quitAll(): Promise<void> } {
  const made: Redis[] = [];
  return {
    made,
    make() {
      const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
      client.on('error', () => {});
      made.push(client);
      return client;
    },
    async quitAll() {
      await Promise.all(made.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

const ready = (clients: readonly Redis[]): Promise<void> =>
  until('clients to be ready', () => clients.every((c) => c.status === 'ready'));
const lost = (clients: readonly Redis[]): Promise<void> =>
  until('clients to see the loss', () => clients.every((c) => c.status !== 'ready'));

(serverPath === undefined ? describe.skip : describe)('Redis outage', () => {
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = new PrivateRedis(serverPath ?? '', await freePort());
    await redis.start();
  });
  afterAll(async () => {
    await redis.kill();
  });

  test('RedisClusterBus survives a crash: publish drops, then it resubscribes, fires its hook, and notices flow', async () => {
    const clients = clientsOf(redis.url);
    const channelPrefix = `test:bus:${randomUUID()}:`;
    const [aPub, aSub, bPub, bSub] = [clients.make(), clients.make(), clients.make(), clients.make()];
    const a = new RedisClusterBus({ pub: aPub, sub: aSub, nodeId: 'a', channelPrefix });
    const b = new RedisClusterBus({ pub: bPub, sub: bSub, nodeId: 'b', channelPrefix });
    try {
      await ready([aPub, aSub, bPub, bSub]);
      const got: ClusterNotice[] = [];
      await b.subscribe('inbox', (notice) => got.push(notice));
      let reconnects = 0;
      b.onReconnect(() => reconnects++);
      expect(await a.publish('inbox', { kind: 'entry', userId: 'bob', inboxSeq: 1 })).toBe(true);
      await until('the first notice', () => got.length === 1);

      await redis.kill();
      await lost([aPub, bSub]);
      // Down: publish resolves false at once, and a subscription made now resolves too (active on reconnect).
      const started = Date.now();
      await expect(a.publish('inbox', { kind: 'entry', userId: 'bob', inboxSeq: 2 })).resolves.toBe(false);
      await b.subscribe('directory', (notice) => got.push(notice));
      expect(Date.now() - started).toBeLessThan(500);
      expect(a.stats().dropped).toBe(1);

      await redis.start();
      await until('the reconnect hook', () => reconnects === 1);
      await ready([aPub]);
      const probe = clients.make();
      const numsub = (await probe.pubsub('NUMSUB', `${channelPrefix}inbox`, `${channelPrefix}directory`)) as [
        string,
        number,
      ][];
      expect(numsub).toEqual([`${channelPrefix}inbox`, 1, `${channelPrefix}directory`, 1]);
      expect(await a.publish('inbox', { kind: 'entry', userId: 'bob', inboxSeq: 3 })).toBe(true);
      expect(await a.publish('directory', { kind: 'directory', record: 'user', id: 'bob' })).toBe(true);
      await until('the notices after the outage', () => got.length === 3);
      expect(got).toEqual([
        { kind: 'entry', userId: 'bob', inboxSeq: 1 },
        { kind: 'entry', userId: 'bob', inboxSeq: 3 },
        { kind: 'directory', record: 'user', id: 'bob' },
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await clients.quitAll();
    }
  });

  test('RedisPresenceStore rejects with a StorageError while Redis is down, and works once it is back', async () => {
    const clients = clientsOf(redis.url);
    const client = clients.make();
    const store = new RedisPresenceStore({ client, keyPrefix: `test:presence:${randomUUID()}:` });
    const bob = { userId: 'bob', status: 'online', lastActiveAt: 1, lastSeenAt: 1 } as const;
    try {
      await ready([client]);
      await store.set(bob, 90_000);

      await redis.kill();
      await lost([client]);
      for (const call of [
        store.get('bob'),
        store.getMany(['bob']),
        store.heartbeat('bob', 90_000),
        store.set(bob, 1),
      ]) {
        const error = await call.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StorageError);
        expect(error).toMatchObject({ code: 'STORAGE' });
      }

      await redis.start();
      await ready([client]);
      // Redis kept nothing: the heartbeat says so, and the node writes the record again.
      expect(await store.heartbeat('bob', 90_000)).toBe(false);
      await store.set(bob, 90_000);
      expect(await store.get('bob')).toEqual(bob);
    } finally {
      await clients.quitAll();
    }
  });

  describe('the conformance suite, with outages', () => {
    let clients: ReturnType<typeof clientsOf>;
    afterEach(async () => {
      await clients.quitAll();
    });

    clusterBusSuite(
      'RedisClusterBus on a private redis-server',
      async () => {
        clients = clientsOf(redis.url);
        const channelPrefix = `test:bus:${randomUUID()}:`;
        const node = (nodeId: string): RedisClusterBus =>
          new RedisClusterBus({ pub: clients.make(), sub: clients.make(), nodeId, channelPrefix });
        const nodes = [node('a'), node('b'), node('c')] as const;
        const raw = clients.make();
        await ready(clients.made);
        return {
          nodes,
          injectRaw: async (channel, message) => {
            await raw.publish(channelPrefix + channel, message);
          },
          outage: {
            down: async () => {
              await redis.kill();
              await lost(clients.made);
            },
            up: () => redis.start(),
          },
        };
      },
      { outage: true },
    );
  });
});
