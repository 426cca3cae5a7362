/**
 * The presence wing: who is connected on which devices (`SessionRegistry`), and who hears of it
 * (`PresenceService` with its fanout policies). Imports the directory wing only.
 *
 * @module
 */
export * from './session-registry';
export * from './presence-policies';
export * from './presence-service';
export * from './directory-relations';
