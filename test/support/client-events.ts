/**
 * Waiting on a `ChatClient` in tests: the next event that matches, and a record of the messages it receives,
 * every wait bounded.
 *
 * @module
 */
import type { Message } from 'chat-room';
import type { ChatClient, ChatClientEvents } from 'chat-room/client';

/** How long any wait may take before the test fails. */
export const WAIT_MS = 5_000;

/** Resolves with the arguments of the next event that matches, bounded by `WAIT_MS`. */
export function next<K extends keyof ChatClientEvents & string>(
  c: ChatClient,
  event: K,
  match: (...args: ChatClientEvents[K]) => boolean = () => true,
): Promise<ChatClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: ChatClientEvents[K]): void => {
      if (!match(...args)) return;
      clearTimeout(timer);
      c.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      c.off(event, listener);
      reject(new Error(`timed out waiting for ${event}`));
    }, WAIT_MS);
    c.on(event, listener);
  });
}

/** Records every message a client receives; `until(n)` waits until n arrived. */
export function inbox(c: ChatClient): { messages: Message[]; until(n: number): Promise<void> } {
  const messages: Message[] = [];
  c.on('message', (m) => messages.push(m));
  return {
    messages,
    until: (n) =>
      messages.length >= n
        ? Promise.resolve()
        : next(c, 'message', () => messages.length >= n).then(() => undefined),
  };
}
