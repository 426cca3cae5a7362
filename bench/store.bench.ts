/**
 * Benchmarks acknowledged appends per second of the message stores — `InMemoryMessageStore`,
 * `SqliteMessageStore` (a temp file, its default durability: WAL, `synchronous = FULL`) and
 * `PostgresMessageStore` (when `DATABASE_URL` answers; a fresh schema per round) — against the raw driver
 * writing the same rows (one message row, one inbox row per recipient and for the sender) at the same
 * durability settings:
 *
 * - raw, commit per message — plain INSERTs, one transaction per message: what a store without group commit
 *   costs at least;
 * - raw, commit per 64 — the same INSERTs, one transaction per 64 messages: an upper bound for group commit.
 *
 * Two workloads, each with 64 appends in flight: 1:1 (64 senders, each to their own peer: one recipient) and a
 * group of 21 members (every message has 20 recipients). An append counts when its promise resolved. Rounds
 * alternate between the implementations after a warm-up; the table shows medians, the spread of the rounds and
 * the ratios store ÷ raw. Absolute numbers depend on the machine (above all on its fsync); the ratios are the
 * figures to watch. Run with `npx ts-node bench/store.bench.ts` (set `DATABASE_URL` for PostgreSQL).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'pg';
import type { MessageStore, NewMessage } from 'chat-room';
import { InMemoryMessageStore } from 'chat-room';
import { SqliteMessageStore } from 'chat-room/sqlite';
import { PostgresMessageStore } from 'chat-room/postgres';

/** Appends in flight at once (concurrent senders). */
const IN_FLIGHT = 64;
/** Messages per transaction of the raw batched baseline. */
const RAW_BATCH = 64;
const GROUP_RECIPIENTS = 20;
const POOL_SIZE = 10;
const WARMUP_MS = 200;
const ROUND_MS = 800;
const ROUNDS = 3;
const TEXT = 'Hello Gainlo';

/** One workload: the nth message of a run. */
interface Workload {
  readonly name: string;
  readonly recipients: number;
  message(n: number): NewMessage;
}

const oneToOne: Workload = {
  name: '1:1',
  recipients: 1,
  message: (n) => {
    const pair = n % IN_FLIGHT;
    return {
      threadId: `dm:s${pair}:r${pair}`,
      senderId: `s${pair}`,
      kind: 'text',
      text: TEXT,
      clientMessageId: `c${n}`,
      sentAt: n,
      recipientIds: [`r${pair}`],
    };
  },
};

const members = Array.from({ length: GROUP_RECIPIENTS + 1 }, (_, i) => `m${i}`);
const group: Workload = {
  name: `group, ${GROUP_RECIPIENTS} recipients`,
  recipients: GROUP_RECIPIENTS,
  message: (n) => {
    const senderId = members[n % members.length] as string;
    return {
      threadId: 'group:bench',
      senderId,
      kind: 'text',
      text: TEXT,
      clientMessageId: `c${n}`,
      sentAt: n,
      recipientIds: members.filter((m) => m !== senderId),
    };
  },
};

/** A writer of messages: `append` resolves when the message is durable (or, for memory, stored). */
interface Writer {
  /** Appends one message; resolves at its ack. */
  append(message: NewMessage): Promise<void>;
  /** Commits per append so far, when the writer knows it. */
  commits?(): number;
  close(): Promise<void>;
}

/** Keeps `IN_FLIGHT` appends going until the deadline; returns how many were acked and how long it took. */
async function pump(
  writer: Writer,
  workload: Workload,
  ms: number,
): Promise<{ acked: number; elapsedMs: number }> {
  let next = 0;
  let acked = 0;
  const start = performance.now();
  const deadline = start + ms;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await writer.append(workload.message(next++));
      acked++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return { acked, elapsedMs: performance.now() - start };
}

/** A `MessageStore` as a writer. */
function storeWriter(
  store: MessageStore & { stats?: { commits: number } },
  close: () => Promise<void>,
): Writer {
  return {
    append: async (m) => {
      await store.appendMessage(m);
    },
    ...(store.stats === undefined ? {} : { commits: () => (store.stats as { commits: number }).commits }),
    close,
  };
}

/**
 * Groups appends into transactions of `size` messages: an append resolves when its transaction committed. A
 * transaction starts when `size` are waiting or on the next turn with what is there, one at a time.
 */
function batcher(size: number, commit: (batch: readonly NewMessage[]) => Promise<void>): Writer['append'] {
  let waiting: { m: NewMessage; done: () => void; fail: (e: unknown) => void }[] = [];
  let running = false;
  const run = async (): Promise<void> => {
    running = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting.slice(0, size);
        waiting = waiting.slice(size);
        try {
          await commit(batch.map((w) => w.m));
          for (const w of batch) w.done();
        } catch (e) {
          for (const w of batch) w.fail(e);
        }
      }
    } finally {
      running = false;
    }
  };
  return (m) =>
    new Promise<void>((done, fail) => {
      waiting.push({ m, done, fail });
      if (!running) setImmediate(() => void (running ? undefined : run()));
    });
}

// ---------------------------------------------------------------------------------------------------------------
// SQLite: the store, and raw better-sqlite3 on the store's own schema and pragmas.

const root = mkdtempSync(join(tmpdir(), 'chat-room-store-bench-'));
let files = 0;

function removeDb(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}

async function sqliteStore(): Promise<Writer> {
  const path = join(root, `store-${++files}.db`);
  const store = new SqliteMessageStore({ path });
  return storeWriter(store, async () => {
    await store.close();
    removeDb(path);
  });
}

/** Raw better-sqlite3: `perCommit` messages per transaction. */
async function sqliteRaw(perCommit: number): Promise<Writer> {
  const path = join(root, `raw-${++files}.db`);
  await new SqliteMessageStore({ path }).close(); // the same schema
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const insertMessage = db.prepare(
    `INSERT INTO messages (thread_id, seq, sender_id, kind, text, media, client_message_id, sent_at)
     VALUES (?, ?, ?, ?, ?, NULL, ?, ?)`,
  );
  // As the store does: an inbox row names the message's row instead of copying it.
  const insertEntry = db.prepare('INSERT INTO inbox (user_id, inbox_seq, message_row) VALUES (?, ?, ?)');
  const seqs = new Map<string, number>();
  const bump = (key: string): number => {
    const seq = (seqs.get(key) ?? 0) + 1;
    seqs.set(key, seq);
    return seq;
  };
  const write = (m: NewMessage): void => {
    const seq = bump(`t:${m.threadId}`);
    const row = insertMessage.run(m.threadId, seq, m.senderId, m.kind, m.text, m.clientMessageId, m.sentAt);
    for (const userId of [m.senderId, ...m.recipientIds])
      insertEntry.run(userId, bump(`u:${userId}`), row.lastInsertRowid);
  };
  const tx = db.transaction((batch: readonly NewMessage[]) => batch.forEach(write));
  const commits = { n: 0 };
  const commit = async (batch: readonly NewMessage[]): Promise<void> => {
    tx.immediate(batch);
    commits.n++;
  };
  return {
    append: perCommit === 1 ? (m) => commit([m]) : batcher(perCommit, commit),
    commits: () => commits.n,
    close: async () => {
      db.close();
      removeDb(path);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL: the store, and raw pg on the store's own schema, each round on a fresh schema.

let pgPool: Pool | undefined;

async function freshSchema(pool: Pool): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `chat_room_bench_${randomBytes(6).toString('hex')}`;
  await new PostgresMessageStore({ pool, schema }).start();
  return { schema, drop: async () => void (await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)) };
}

async function postgresStore(): Promise<Writer> {
  const pool = pgPool as Pool;
  const { schema, drop } = await freshSchema(pool);
  const store = new PostgresMessageStore({ pool, schema });
  return storeWriter(store, async () => {
    await store.close();
    await drop();
  });
}

/** Raw pg: `perCommit` messages per transaction, each message two INSERTs (its row, its inbox rows). */
async function postgresRaw(perCommit: number): Promise<Writer> {
  const pool = pgPool as Pool;
  const { schema, drop } = await freshSchema(pool);
  const s = `"${schema}"`;
  const seqs = new Map<string, number>();
  const bump = (key: string): number => {
    const seq = (seqs.get(key) ?? 0) + 1;
    seqs.set(key, seq);
    return seq;
  };
  const commits = { n: 0 };
  const commit = async (batch: readonly NewMessage[]): Promise<void> => {
    // Numbers are handed out before the transaction, as a store without counters would (the baseline's
    // cheapest way; it does not protect readers from gaps).
    const rows = batch.map((m) => {
      const seq = bump(`t:${m.threadId}`);
      const id = `${m.threadId}#${seq}`;
      const userIds = [m.senderId, ...m.recipientIds];
      return { m, seq, id, userIds, inboxSeqs: userIds.map((u) => bump(`u:${u}`)) };
    });
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      for (const { m, seq, id, userIds, inboxSeqs } of rows) {
        await c.query(
          `INSERT INTO ${s}.messages (thread_id, seq, id, sender_id, kind, text, media, client_message_id, sent_at)
           VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)`,
          [m.threadId, seq, id, m.senderId, m.kind, m.text, m.clientMessageId, m.sentAt],
        );
        // As the store does: inbox rows name the message (thread, seq) instead of copying it.
        await c.query(
          `INSERT INTO ${s}.inbox (user_id, inbox_seq, thread_id, seq)
           SELECT u, q, $3, $4 FROM unnest($1::text[], $2::bigint[]) AS t(u, q)`,
          [userIds, inboxSeqs, m.threadId, seq],
        );
      }
      await c.query('COMMIT');
      commits.n++;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  };
  return {
    append: perCommit === 1 ? (m) => commit([m]) : batcher(perCommit, commit),
    commits: () => commits.n,
    close: drop,
  };
}

/** Why PostgreSQL cannot be used, or `undefined` when it answers (then `pgPool` is set). */
async function connectPostgres(): Promise<string | undefined> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') return 'DATABASE_URL is not set';
  const pool = new Pool({ connectionString: url, max: POOL_SIZE, connectionTimeoutMillis: 2_000 });
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (e) {
    await pool.end().catch(() => undefined);
    return `cannot connect (${(e as Error).message})`;
  }
  pgPool = pool;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The run.

interface Contender {
  readonly store: string;
  readonly impl: string;
  readonly kind: 'store' | 'raw1' | 'rawN';
  readonly workload: Workload;
  readonly open: () => Promise<Writer>;
  readonly rates: number[];
  readonly batch: number[];
}

function contendersFor(
  store: string,
  openStore: () => Promise<Writer>,
  raw?: (perCommit: number) => Promise<Writer>,
): Contender[] {
  return [oneToOne, group].flatMap((workload) => [
    { store, impl: 'store', kind: 'store' as const, workload, open: openStore, rates: [], batch: [] },
    ...(raw === undefined
      ? []
      : [
          {
            store,
            impl: 'raw, commit per message',
            kind: 'raw1' as const,
            workload,
            open: () => raw(1),
            rates: [],
            batch: [],
          },
          {
            store,
            impl: `raw, commit per ${RAW_BATCH}`,
            kind: 'rawN' as const,
            workload,
            open: () => raw(RAW_BATCH),
            rates: [],
            batch: [],
          },
        ]),
  ]);
}

/** One round on a fresh store: acked appends per second, and appends per commit when known. */
async function round(c: Contender, ms: number): Promise<{ rate: number; perCommit: number | undefined }> {
  const writer = await c.open();
  try {
    const { acked, elapsedMs } = await pump(writer, c.workload, ms);
    const commits = writer.commits?.();
    return {
      rate: acked / (elapsedMs / 1000),
      perCommit: commits === undefined ? undefined : acked / commits,
    };
  } finally {
    await writer.close();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const began = performance.now();
  const pgProblem = await connectPostgres();
  const contenders = [
    ...contendersFor('InMemoryMessageStore', async () => {
      const store = new InMemoryMessageStore();
      return storeWriter(store, async () => undefined);
    }),
    ...contendersFor('SqliteMessageStore', sqliteStore, sqliteRaw),
    ...(pgProblem === undefined ? contendersFor('PostgresMessageStore', postgresStore, postgresRaw) : []),
  ];
  console.log(
    `Acknowledged appends per second — Node ${process.version}, ${IN_FLIGHT} appends in flight, ` +
      `${ROUNDS} alternating rounds of ${ROUND_MS} ms after a warm-up, a fresh store per round; medians`,
  );
  if (pgProblem !== undefined) console.log(`PostgresMessageStore skipped: ${pgProblem}`);

  try {
    for (const c of contenders) await round(c, WARMUP_MS);
    for (let i = 0; i < ROUNDS; i++) {
      for (const c of contenders) {
        const r = await round(c, ROUND_MS);
        c.rates.push(r.rate);
        if (r.perCommit !== undefined) c.batch.push(r.perCommit);
      }
    }
  } finally {
    await pgPool?.end();
    rmSync(root, { recursive: true, force: true });
  }

  const rows = [
    ['store', 'workload', 'implementation', 'appends/s', 'spread', 'msgs/commit', '÷ raw/msg', '÷ raw/64'],
  ];
  for (const c of contenders) {
    const same = (kind: Contender['kind']) =>
      contenders.find((o) => o.store === c.store && o.workload === c.workload && o.kind === kind);
    const raw1 = same('raw1');
    const rawN = same('rawN');
    const rate = median(c.rates);
    rows.push([
      c.kind === 'store' ? c.store : '',
      c.kind === 'store' ? c.workload.name : '',
      c.impl,
      fmt(rate),
      `±${((50 * (Math.max(...c.rates) - Math.min(...c.rates))) / rate).toFixed(0)}%`,
      c.batch.length === 0 ? '' : median(c.batch).toFixed(1),
      raw1 === undefined ? '' : (rate / median(raw1.rates)).toFixed(2),
      rawN === undefined ? '' : (rate / median(rawN.rates)).toFixed(2),
    ]);
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log(
      r.map((cell, col) => (col < 3 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  '),
    );
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  console.log(
    `÷ raw/msg = store ÷ raw driver with one commit per message; ÷ raw/64 = store ÷ raw with one commit per ` +
      `${RAW_BATCH} messages (an upper bound); spread = half the min–max range of the rounds; ` +
      `total ${((performance.now() - began) / 1000).toFixed(1)} s`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
