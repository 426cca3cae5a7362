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
  #pending = 0;
  /** Who waits for the count to reach zero. */
  #waiters: (() => void)[] = [];
  /** Runs once per task, however it settled; at zero it wakes the waiters. */
  readonly #settled = (): void => {
    if (--this.#pending > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  };

  /** How many tasks are in flight. */
  get size(): number {
    return this.#pending;
  }

  /**
   * Follows a promise until it settles; its rejection is left to the caller.
   *
   * @param task - the work in flight
   * @returns the same promise
   */
  track<T>(task: Promise<T>): Promise<T> {
    this.#pending++;
    task.then(this.#settled, this.#settled);
    return task;
  }

  /** Resolves once no tracked task is in flight, including tasks started while waiting. */
  async idle(): Promise<void> {
    while (this.#pending > 0) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
      // Let continuations of the settled tasks run; they may start new ones.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
