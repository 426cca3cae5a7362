/**
 * Counts work in flight so a caller can wait until the system is quiet (tests, examples, graceful shutdown).
 *
 * @example
 * ```ts
 * const tasks = new TaskTracker()
 * tasks.track(somePromise)
 * await tasks.idle()
 * ```
 */
export class TaskTracker {
  readonly #pending = new Set<Promise<unknown>>();

  /** How many tasks are in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Follows a promise until it settles; its rejection is left to the caller.
   *
   * @param task - the work in flight
   * @returns the same promise
   */
  track<T>(task: Promise<T>): Promise<T> {
    // One reaction and no promise of its own: this runs for every frame and every send.
    const forget = (): void => {
      this.#pending.delete(task);
    };
    this.#pending.add(task);
    task.then(forget, forget);
    return task;
  }

  /** Resolves once no tracked task is in flight, including tasks started while waiting. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) {
      await Promise.allSettled([...this.#pending]);
      // Let continuations of the settled tasks run; they may start new ones.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
