import type { DirectThreadRecord, FeedRecord, GroupRecord, SettingsRecord, UserRecord } from '../../domain';
import { ChatRoomError, StorageError } from '../../domain';
import type { DirectoryStore } from '../../ports';
import type { NotificationCenter, RecordKind } from '../notification-center';
import type { TaskTracker } from '../../util/task-tracker';
import type { ConversationDirectory } from './conversation-directory';
import type { SettingsService } from './settings-service';
import type { UserDirectory } from './user-directory';

/** Where a user's push devices are kept (with the sessions); the journal writes them with the user. */
export interface PushDeviceList {
  pushDevices(userId: string): string[];
}

/** Where each user's chat-list choices are kept (with the feeds, a wing above); the journal writes them. */
export interface FeedRecordSource {
  feedRecord(userId: string): FeedRecord;
}

/** What a `DirectoryJournal` needs: the store, and the services whose records it writes. */
export interface DirectoryJournalDeps {
  readonly store: DirectoryStore;
  /** Where the services announce `record-changed`; write failures are published as `directory-write-failed`. */
  readonly events: NotificationCenter;
  /** Tracks the background writes, so `ChatSystem.idle()` waits for them. */
  readonly tasks: TaskTracker;
  readonly users: UserDirectory;
  readonly conversations: ConversationDirectory;
  readonly settings: SettingsService;
  readonly pushDevices: PushDeviceList;
  readonly feeds: FeedRecordSource;
}

/**
 * Writes the directory behind the services (write-behind with dirty tracking): the services change their
 * in-memory state and announce `record-changed {kind, id}`; the journal marks that record dirty and, on the
 * next microtask, writes every dirty record in one `DirectoryStore.save` batch, reading each record's state at
 * that moment. A burst of changes to one group is one write of its final state.
 *
 * `flush()` resolves once everything marked before it is durable; the gateway awaits it before answering a
 * frame that changed the directory, and the delivery service before acking the first message of a new direct
 * thread. A failed write keeps its records dirty, so the next write retries them.
 *
 * @example
 * ```ts
 * import { ChatSystem, InMemoryDirectoryStore } from 'chat-room'
 * const directoryStore = new InMemoryDirectoryStore()
 * const chat = await ChatSystem.open({ directoryStore })
 * chat.registerUser({ id: 'alice', name: 'Alice' })
 * await chat.idle() // the journal has written alice
 * ```
 */
export class DirectoryJournal {
  readonly #d: DirectoryJournalDeps;
  /** Dirty records by `kind:id`, in the order they were first marked. */
  readonly #dirty = new Map<string, { kind: RecordKind; id: string }>();
  #writing: Promise<void> | undefined;
  #scheduled = false;
  #writes = 0;

  /**
   * Creates the journal and starts listening for `record-changed`.
   *
   * @param deps - store, events, record readers and the task tracker
   */
  constructor(deps: DirectoryJournalDeps) {
    this.#d = deps;
    deps.events.on('record-changed', ({ kind, id }) => this.mark(kind, id));
  }

  /** How many batches the journal has written (for tests and diagnostics). */
  get writes(): number {
    return this.#writes;
  }

  /** How many records wait to be written. */
  get pending(): number {
    return this.#dirty.size;
  }

  /**
   * Marks a record dirty; it is written on the next microtask, with whatever else is dirty by then.
   *
   * @param kind - the record's kind
   * @param id - its id (a user id for settings)
   */
  mark(kind: RecordKind, id: string): void {
    this.#dirty.set(`${kind}:${id}`, { kind, id });
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#d.tasks.track(this.flush()).catch((error: unknown) => {
        this.#d.events.publish('directory-write-failed', { error });
      });
    });
  }

  /**
   * Resolves when every record marked before the call is durable.
   *
   * @throws StorageError when the store fails; the records stay dirty and are retried by the next write
   */
  async flush(): Promise<void> {
    while (this.#dirty.size > 0 || this.#writing !== undefined) {
      if (this.#writing === undefined) {
        const writing = this.#drain();
        this.#writing = writing;
        const done = (): void => {
          if (this.#writing === writing) this.#writing = undefined;
        };
        writing.then(done, done);
      }
      await this.#writing;
    }
  }

  async #drain(): Promise<void> {
    while (this.#dirty.size > 0) {
      const taken = [...this.#dirty.values()];
      this.#dirty.clear();
      try {
        await this.#d.store.save(this.#batch(taken));
        this.#writes += 1;
      } catch (error) {
        // Keep what failed dirty, unless it was marked again meanwhile (then it is dirty already).
        for (const r of taken)
          if (!this.#dirty.has(`${r.kind}:${r.id}`)) this.#dirty.set(`${r.kind}:${r.id}`, r);
        throw ChatRoomError.is(error)
          ? error
          : new StorageError('writing the directory failed', { cause: error });
      }
    }
  }

  #batch(taken: readonly { kind: RecordKind; id: string }[]) {
    const batch = {
      users: [] as UserRecord[],
      groups: [] as GroupRecord[],
      settings: [] as SettingsRecord[],
      threads: [] as DirectThreadRecord[],
      feeds: [] as FeedRecord[],
    };
    for (const { kind, id } of taken) {
      if (kind === 'user') batch.users.push(this.#user(id));
      else if (kind === 'group') batch.groups.push(this.#d.conversations.group(id).toRecord());
      else if (kind === 'settings') batch.settings.push(this.#d.settings.record(id));
      else if (kind === 'feed') batch.feeds.push(this.#d.feeds.feedRecord(id));
      else batch.threads.push(this.#thread(id));
    }
    return batch;
  }

  #user(id: string): UserRecord {
    const { name, contacts, blocked } = this.#d.users.get(id);
    return { id, name, contacts, blocked, pushDevices: this.#d.pushDevices.pushDevices(id) };
  }

  #thread(id: string): DirectThreadRecord {
    const [a, b] = this.#d.conversations.thread(id).participantIds as [string, string];
    return { id, participantIds: [a, b] };
  }
}
