import { maySeePresence } from '../../domain';
import type { SettingsService, UserDirectory } from '../directory';
import type { PresenceRelations } from './presence-service';

/**
 * The presence relations of a real directory: a user's friends are those who keep them as a contact, and a viewer
 * sees a status only as the subject's last-seen setting allows.
 *
 * @example
 * ```ts
 * import { DirectoryRelations, SettingsService, SystemClock, UserDirectory } from 'chat-room'
 * const users = new UserDirectory()
 * const relations = new DirectoryRelations(users, new SettingsService(new SystemClock(), users))
 * ```
 */
export class DirectoryRelations implements PresenceRelations {
  readonly #users: UserDirectory;
  readonly #settings: SettingsService;

  /**
   * Reads relations from the directory.
   *
   * @param users - contacts
   * @param settings - last-seen visibility
   */
  constructor(users: UserDirectory, settings: SettingsService) {
    this.#users = users;
    this.#settings = settings;
  }

  friendsOf(userId: string): readonly string[] {
    return this.#users.watchersOf(userId);
  }

  maySee(viewerId: string, subjectId: string): boolean {
    if (!this.#users.has(subjectId)) return false;
    const viewerIsContact = this.#users.get(subjectId).hasContact(viewerId);
    return maySeePresence(this.#settings.lastSeen(subjectId), viewerIsContact);
  }
}
