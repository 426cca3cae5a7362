import type { Clock } from '../../ports';
import { RateLimitError, ValidationError, requireObject, requirePositiveInt } from '../../domain';
import { TokenBucket } from '../../util/token-bucket';
import type { ContactDirectory, ContactMatch } from './contact-directory';
import { parseContactQuery } from './contact-directory';
import type { SettingsService } from './settings-service';
import type { UserDirectory } from './user-directory';

/** The rules a global search keeps to: what stops anyone from reading the whole directory out, a query at a time. */
export interface GlobalSearchLimits {
  /** The shortest word a global query must hold (characters, after folding case and accents). Default 3. */
  readonly minQueryLength: number;
  /** The most results a global search returns; a larger `limit` is clamped to it. Default 20. */
  readonly maxResults: number;
  /** Global searches each user may make per `perMs`, in bursts of up to as many (a token bucket). Default 30. */
  readonly searches: number;
  /** The period of `searches` (ms). Default one minute. */
  readonly perMs: number;
}

/** The defaults of {@link GlobalSearchLimits}. */
export const DEFAULT_GLOBAL_SEARCH_LIMITS: GlobalSearchLimits = Object.freeze({
  minQueryLength: 3,
  maxResults: 20,
  searches: 30,
  perMs: 60_000,
});

/** What {@link PeopleSearch.search} takes besides the query. */
export interface PeopleSearchOptions {
  /** How many matches at most: 1–100, default 20; a global search takes any and returns at most `maxResults` (20). */
  readonly limit?: number;
  /** Search everyone who chose to be discoverable, rather than the user's own contacts. */
  readonly global?: boolean;
}

/** What a {@link PeopleSearch} reads. */
export interface PeopleSearchDeps {
  readonly contacts: ContactDirectory;
  readonly users: UserDirectory;
  readonly settings: SettingsService;
  /** Time for the per-user budget. */
  readonly clock: Clock;
  /** Limits to change; the others keep {@link DEFAULT_GLOBAL_SEARCH_LIMITS}. */
  readonly limits?: Partial<GlobalSearchLimits>;
}

/** One user's budget of global searches, and when they last spent from it. */
interface Budget {
  readonly bucket: TokenBucket;
  lastAt: number;
}

/**
 * The search box as a user sees it: their own contacts, or — with `global` — the people who chose to be found.
 *
 * A global search is what a stranger could use to read the directory out, so it finds only users who turned
 * `discoverable` on (off by default), never the searcher nor anyone who blocked them; its query needs a word of
 * at least 3 characters, it returns at most 20 people, and each user has a budget of 30 per minute. A refused
 * search (malformed, too short, over budget) spends nothing; an accepted one spends one search even if it finds
 * no one, since an empty answer tells as much as a full one.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * chat.registerUser({ id: 'me', name: 'Me' })
 * chat.registerUser({ id: 'johann', name: 'Johann Strauss' })
 * chat.settings('johann').setDiscoverable(true)
 * chat.searchContacts('me', 'strauss', { global: true }) // [{ id: 'johann', name: 'Johann Strauss', rank: 'exact' }]
 * ```
 */
export class PeopleSearch {
  readonly #d: PeopleSearchDeps;
  readonly #limits: GlobalSearchLimits;
  /** Budgets of users who searched within the last period; an older one is full again, so it is forgotten. */
  readonly #budgets = new Map<string, Budget>();
  #sweptAt: number;

  /**
   * Creates the search.
   *
   * @param deps - the index, the users (contacts, blocks), the settings (who is discoverable) and the clock
   * @throws ValidationError when a limit is not a positive integer
   */
  constructor(deps: PeopleSearchDeps) {
    this.#d = deps;
    this.#limits = { ...DEFAULT_GLOBAL_SEARCH_LIMITS, ...deps.limits };
    for (const [name, value] of Object.entries(this.#limits)) {
      if (!Number.isSafeInteger(value) || (value as number) < 1) {
        throw new ValidationError(`globalSearch.${name} must be a positive integer`, {
          details: { field: `globalSearch.${name}` },
        });
      }
    }
    this.#sweptAt = deps.clock.now();
  }

  /** The limits in force. */
  get limits(): GlobalSearchLimits {
    return this.#limits;
  }

  /**
   * Searches as a user does: among their contacts, or with `global` among the discoverable users.
   *
   * @param userId - who searches
   * @param query - what they typed (a global query needs a word of at least `minQueryLength` characters)
   * @param options - `limit` and `global`
   * @throws NotFoundError when the user is unknown
   * @throws ValidationError (`details.field`) for a blank, too long or (global) too short query, a limit out of
   *   range, or a non-boolean `global`
   * @throws RateLimitError (`details.retryAfterMs`) past the user's budget of global searches
   */
  search(userId: string, query: string, options: PeopleSearchOptions = {}): ContactMatch[] {
    const user = this.#d.users.get(userId);
    const o = requireObject(options, 'options');
    if (o.global !== undefined && typeof o.global !== 'boolean') {
      throw new ValidationError('global must be true or false', { details: { field: 'global' } });
    }
    if (o.global !== true) {
      return this.#d.contacts.search(query, {
        ...(o.limit === undefined ? {} : { limit: o.limit as number }),
        within: new Set(user.contacts),
      });
    }

    // Every check comes before the budget is spent: a refused search costs nothing.
    const { minQueryLength, maxResults } = this.#limits;
    const words = parseContactQuery(query);
    if (!words.some((word) => [...word].length >= minQueryLength)) {
      throw new ValidationError(`a global search needs a word of at least ${minQueryLength} characters`, {
        details: { field: 'query', min: minQueryLength },
      });
    }
    // Any positive limit is taken, and clamped: a client that asks for more simply gets the most there is.
    const limit =
      o.limit === undefined ? maxResults : requirePositiveInt(o.limit, 'limit', Number.MAX_SAFE_INTEGER);
    this.#spend(userId);

    const { users, settings } = this.#d;
    return this.#d.contacts.search(query, {
      limit: Math.min(limit, maxResults),
      within: settings.discoverableUsers(),
      // Never oneself, never someone who blocked the searcher. Whom the searcher blocked stays findable: that
      // tells them nothing new, and it is how they find someone to unblock.
      where: (id) => id !== userId && users.has(id) && !users.get(id).hasBlocked(userId),
    });
  }

  /** Takes one global search from the user's budget, or refuses with how long to wait. */
  #spend(userId: string): void {
    const now = this.#d.clock.now();
    this.#sweep(now);
    const { searches, perMs } = this.#limits;
    let budget = this.#budgets.get(userId);
    if (budget === undefined) {
      budget = { bucket: new TokenBucket({ frames: searches, perMs }, now), lastAt: now };
      this.#budgets.set(userId, budget);
    }
    const retryAfterMs = budget.bucket.take(now);
    if (retryAfterMs > 0) {
      throw new RateLimitError(`too many global searches: retry after ${retryAfterMs} ms`, retryAfterMs);
    }
    budget.lastAt = now;
  }

  /** Forgets the budgets nobody spent from for a whole period (they are full again): the map stays bounded. */
  #sweep(now: number): void {
    const { perMs } = this.#limits;
    if (now - this.#sweptAt < perMs) return;
    this.#sweptAt = now;
    for (const [userId, budget] of this.#budgets) {
      if (now - budget.lastAt >= perMs) this.#budgets.delete(userId);
    }
  }
}
