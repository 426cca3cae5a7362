/**
 * What the raw `ws` relay can keep of the messages it forwards, for the floors a storing server is compared with
 * (`ws-history` and `ws-sqlite` in `npm run bench:server`):
 *
 * - `MemoryHistory`: every message as one frozen object in its conversation's array, and the sender's
 *   idempotency key in a map: the least a server that keeps history in its heap keeps.
 * - `SqliteLog`: every message as one row, and one inbox row each for the sender and the recipient, written by a
 *   group commit (one transaction per event-loop turn, WAL, `synchronous = FULL`) before the message is forwarded
 *   and acked: the least a server that makes messages durable in SQLite does.
 *
 * Neither validates, checks for duplicates or handles receipts.
 *
 * @module
 */
import Database from 'better-sqlite3';

/** A message the relay received, to keep and then forward. */
export interface Relayed {
  readonly from: string;
  readonly to: string;
  readonly clientMessageId: string;
  readonly text: string;
}

/** Keeps relayed messages; calls `then` once a message is kept (at once, or after its commit). */
export interface RelayStorage {
  keep(message: Relayed, then: () => void): void;
  close(): void;
}

/** The conversation of two users, whichever sends. */
const pairOf = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

interface Kept {
  readonly seq: number;
  readonly from: string;
  readonly clientMessageId: string;
  readonly text: string;
  readonly at: number;
}

/** History in the heap: what the collector has to copy out of the young generation and then mark. */
export class MemoryHistory implements RelayStorage {
  readonly #threads = new Map<string, Kept[]>();
  readonly #byClientId = new Map<string, Map<string, Kept>>();

  keep(message: Relayed, then: () => void): void {
    const pair = pairOf(message.from, message.to);
    let thread = this.#threads.get(pair);
    if (thread === undefined) this.#threads.set(pair, (thread = []));
    let sent = this.#byClientId.get(message.from);
    if (sent === undefined) this.#byClientId.set(message.from, (sent = new Map()));
    const kept: Kept = Object.freeze({
      seq: thread.length + 1,
      from: message.from,
      clientMessageId: message.clientMessageId,
      text: message.text,
      at: Date.now(),
    });
    thread.push(kept);
    sent.set(message.clientMessageId, kept);
    then();
  }

  close(): void {
    this.#threads.clear();
    this.#byClientId.clear();
  }
}

/** Rows in SQLite, committed in groups before anything is forwarded. */
export class SqliteLog implements RelayStorage {
  readonly #db: Database.Database;
  readonly #insertMessage: Database.Statement;
  readonly #insertEntry: Database.Statement;
  readonly #commit: (batch: readonly Relayed[]) => void;
  /** The newest seq per conversation and per inbox (this relay is the only writer). */
  readonly #seqs = new Map<string, number>();
  #pending: { message: Relayed; then: () => void }[] = [];
  #scheduled = false;
  #closed = false;

  constructor(file: string) {
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY,
        thread_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        sender_id TEXT NOT NULL,
        text TEXT NOT NULL,
        client_message_id TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        UNIQUE (thread_id, seq),
        UNIQUE (sender_id, client_message_id)
      );
      CREATE TABLE IF NOT EXISTS inbox (
        user_id TEXT NOT NULL,
        inbox_seq INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        PRIMARY KEY (user_id, inbox_seq)
      ) WITHOUT ROWID;`);
    this.#insertMessage = this.#db.prepare(
      'INSERT INTO messages (thread_id, seq, sender_id, text, client_message_id, sent_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#insertEntry = this.#db.prepare(
      'INSERT INTO inbox (user_id, inbox_seq, message_id) VALUES (?, ?, ?)',
    );
    this.#commit = this.#db.transaction((batch: readonly Relayed[]) => {
      const now = Date.now();
      for (const m of batch) {
        const pair = pairOf(m.from, m.to);
        const id = this.#insertMessage.run(
          pair,
          this.#next(pair),
          m.from,
          m.text,
          m.clientMessageId,
          now,
        ).lastInsertRowid;
        this.#insertEntry.run(m.from, this.#next(`@${m.from}`), id);
        this.#insertEntry.run(m.to, this.#next(`@${m.to}`), id);
      }
    });
  }

  keep(message: Relayed, then: () => void): void {
    this.#pending.push({ message, then });
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  close(): void {
    this.#closed = true; // what is still queued is dropped: its sockets are gone
    this.#db.close();
  }

  #next(key: string): number {
    const seq = (this.#seqs.get(key) ?? 0) + 1;
    this.#seqs.set(key, seq);
    return seq;
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#commit(batch.map((p) => p.message));
    for (const p of batch) p.then();
  }
}
