import { EventEmitter } from 'eventemitter3';

/** An event map: event name → tuple of listener arguments. */
export type EventMap = { [event: string]: unknown[] };

/**
 * The subscribe side of a typed event emitter. Subclasses publish with `emit`; subscribers see only
 * `on`, `once` and `off`, so nobody outside can fire an event or drop someone else's listeners.
 *
 * Pattern: Observer — the subject keeps its listeners; it knows nothing else about them.
 */
export class Observable<E extends EventMap> {
  // Typing lives in this class's signatures; the emitter underneath is untyped.
  readonly #emitter = new EventEmitter<string>();

  /**
   * Adds a listener.
   *
   * @param event - the event's name
   * @param listener - called with the event's arguments
   * @returns this, for chaining
   */
  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /**
   * Adds a listener that runs once.
   *
   * @param event - the event's name
   * @param listener - called with the event's arguments
   * @returns this, for chaining
   */
  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /**
   * Removes a listener.
   *
   * @param event - the event's name
   * @param listener - the listener added before
   * @returns this, for chaining
   */
  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /**
   * How many listeners an event has.
   *
   * @param event - the event's name
   */
  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#emitter.listenerCount(event);
  }

  /** Publishes an event to its listeners, synchronously, in the order they were added. */
  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    this.#emitter.emit(event, ...args);
  }

  /** Drops every listener (when the subject is closed). */
  protected clearListeners(): void {
    this.#emitter.removeAllListeners();
  }
}
