/**
 * The first moments of a client link: frames kept until the session that reads them exists.
 *
 * @module
 */
import type { ClientLink, ClientLinkHandler } from '../ports';
import type { ServerFrame } from '../protocol';

/**
 * The link handler until the session exists: it waits for the hello (to learn the user), keeps every frame, and
 * hands them, in order, to the session once it attached.
 *
 * @internal `ChatClient`'s connection creates one per link.
 */
export class Handoff implements ClientLinkHandler {
  link: ClientLink | undefined;
  readonly #buffer: ServerFrame[] = [];
  #target: ClientLinkHandler | undefined;
  #live = false;
  #greeted = false;
  #closedReason: string | undefined;

  constructor(
    private readonly onHello: (hello: Extract<ServerFrame, { type: 'hello' }>) => void,
    private readonly onClosedEarly: (reason: string) => void,
  ) {}

  received(frame: ServerFrame): void {
    if (this.#live && this.#target !== undefined) return this.#target.received(frame);
    this.#buffer.push(frame);
    if (!this.#greeted && frame.type === 'hello') {
      this.#greeted = true;
      this.onHello(frame);
    }
  }

  closed(reason: string): void {
    if (this.#live && this.#target !== undefined) return this.#target.closed(reason);
    this.#closedReason = reason;
    if (!this.#greeted) this.onClosedEarly(reason);
  }

  /** Hands the frames kept so far to the session, after its constructor returned. */
  attach(target: ClientLinkHandler): void {
    this.#target = target;
    queueMicrotask(() => {
      while (this.#buffer.length > 0) target.received(this.#buffer.shift() as ServerFrame);
      this.#live = true;
      if (this.#closedReason !== undefined) target.closed(this.#closedReason);
    });
  }
}
