import type { DirectThreadRecord, FeedRecord, GroupRecord, SettingsRecord, UserRecord } from '../../domain';
import { requireDirectoryBatch } from '../../domain';
import type { DirectoryBatch, DirectorySnapshot, DirectoryStore } from '../../ports';

/**
 * The reference `DirectoryStore`: five maps keyed by id. A `Map` keeps a key's first insertion place when its
 * value is replaced, which is exactly the load order the port asks for. Records are frozen copies, so no caller
 * can change what is stored.
 *
 * @example
 * ```ts
 * import { ChatSystem, InMemoryDirectoryStore } from 'chat-room'
 * const directoryStore = new InMemoryDirectoryStore()
 * const chat = await ChatSystem.open({ directoryStore })
 * ```
 */
export class InMemoryDirectoryStore implements DirectoryStore {
  readonly #users = new Map<string, UserRecord>();
  readonly #groups = new Map<string, GroupRecord>();
  readonly #settings = new Map<string, SettingsRecord>();
  readonly #threads = new Map<string, DirectThreadRecord>();
  readonly #feeds = new Map<string, FeedRecord>();

  async save(batch: DirectoryBatch): Promise<void> {
    const checked = requireDirectoryBatch(batch); // throws before anything is written
    for (const r of checked.users) this.#users.set(r.id, r);
    for (const r of checked.groups) this.#groups.set(r.id, r);
    for (const r of checked.settings) this.#settings.set(r.userId, r);
    for (const r of checked.threads) this.#threads.set(r.id, r);
    for (const r of checked.feeds) this.#feeds.set(r.userId, r);
  }

  async load(): Promise<DirectorySnapshot> {
    return {
      users: [...this.#users.values()],
      groups: [...this.#groups.values()],
      settings: [...this.#settings.values()],
      threads: [...this.#threads.values()],
      feeds: [...this.#feeds.values()],
    };
  }
}
