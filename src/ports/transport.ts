import type { ClientFrame, ServerFrame } from '../protocol';

/** Who is on the other end of a connection, as established by the transport (authenticated, never a frame field). */
export interface ConnectionIdentity {
  readonly userId: string;
  readonly deviceId: string;
  /** Whether the app starts in the foreground. */
  readonly foreground: boolean;
}

/** The server's end of one device's connection. */
export interface Connection {
  /** Unique per connection. */
  readonly id: string;
  readonly identity: ConnectionIdentity;
  /** Sends a frame to the device; frames sent after `close` are dropped. */
  send(frame: ServerFrame): void;
  /** Closes the connection; the transport then reports `closed`. */
  close(reason?: string): void;
}

/** What the server does when a transport reports something. */
export interface TransportHandler {
  /** A device connected. */
  opened(connection: Connection): void;
  /** A device sent a frame (not yet validated). */
  received(connection: Connection, frame: unknown): void;
  /** The connection is gone. */
  closed(connection: Connection): void;
}

/**
 * The server side of a way for devices to reach the server: in memory, WebSocket, HTTP long-poll.
 *
 * @example
 * ```ts
 * import { InMemoryTransport } from 'chat-room'
 * const transport = new InMemoryTransport()
 * transport.listen({ opened: c => {}, received: (c, f) => {}, closed: c => {} })
 * ```
 */
export interface Transport {
  /** Starts reporting connections and frames to the handler. */
  listen(handler: TransportHandler): void;
  /** Closes every connection and stops. */
  close(): Promise<void>;
}

/** A device's end of a connection. */
export interface ClientLink {
  /** Sends a frame to the server. */
  send(frame: ClientFrame): void;
  /** Hangs up. */
  close(): void;
  /** Whether the link is still open. */
  readonly open: boolean;
}

/** What a device does when its link reports something. */
export interface ClientLinkHandler {
  received(frame: ServerFrame): void;
  closed(reason: string): void;
}

/** The device side of a transport: opens links to the server. */
export interface ClientTransport {
  /** Opens a link for an identity; frames from the server go to `handler`. */
  open(identity: ConnectionIdentity, handler: ClientLinkHandler): ClientLink;
}
