/**
 * The directory wing: users and contacts, groups and direct threads, settings, contact search (the index, and
 * `PeopleSearch`, who may find whom), and the journal that writes them behind to a `DirectoryStore`. It imports no
 * other wing.
 *
 * @module
 */
export * from './user-directory';
export * from './conversation-directory';
export * from './settings-service';
export * from './contact-directory';
export * from './directory-journal';
export * from './people-search';
