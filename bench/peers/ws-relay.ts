/**
 * The raw `ws` peer: the least a WebSocket chat relay can do. A client connects to `/?user=<id>`; a text frame
 * `{"type":"send","ref","clientMessageId","to","text"}` is parsed, forwarded to the recipient's socket as
 * `{"type":"message","from","clientMessageId","text"}` and acked to the sender as `{"type":"ack","ref"}`. No
 * authentication, validation, storage, receipts or rate limit: the floor a server with those is compared with.
 * Given a `RelayStorage` (relay-storage.ts), it keeps each message there first and forwards it once kept: the floor
 * of a server that stores what it relays. With `receipts`, a recipient's `{"type":"delivered","to","clientMessageId"}`
 * is forwarded to the sender `to` as `{"type":"receipt","from","clientMessageId"}`: the floor of a server whose
 * senders see their messages delivered (WhatsApp's second tick), with the same five frames per message as ours.
 *
 * @module
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { RelayStorage } from './relay-storage';

/** A running relay. */
export interface Relay {
  readonly port: number;
  close(): Promise<void>;
}

/** What the relay does besides forwarding. */
export interface RelayOptions {
  /** Where to keep each message before it is forwarded (none by default). */
  readonly storage?: RelayStorage;
  /** Whether `delivered` frames go back to the senders as receipts. */
  readonly receipts?: boolean;
}

interface SendFrame {
  readonly type: string;
  readonly ref?: string;
  readonly clientMessageId?: string;
  readonly to?: string;
  readonly text?: string;
}

/**
 * Starts the relay on 127.0.0.1.
 *
 * @param port - the port (0 picks a free one)
 * @param options - storage and receipts (neither by default)
 */
export function startWsRelay(port = 0, options: RelayOptions = {}): Promise<Relay> {
  const { storage, receipts = false } = options;
  const sockets = new Map<string, WebSocket>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    const user = new URL(req.url ?? '/', 'http://localhost').searchParams.get('user') ?? '';
    sockets.set(user, ws);
    ws.on('close', () => {
      if (sockets.get(user) === ws) sockets.delete(user);
    });
    ws.on('message', (data) => {
      let frame: SendFrame;
      try {
        frame = JSON.parse(String(data)) as SendFrame;
      } catch {
        return;
      }
      if (receipts && frame.type === 'delivered') {
        sockets
          .get(frame.to ?? '')
          ?.send(JSON.stringify({ type: 'receipt', from: user, clientMessageId: frame.clientMessageId }));
        return;
      }
      if (frame.type !== 'send') return;
      const forward = (): void => {
        sockets.get(frame.to ?? '')?.send(
          JSON.stringify({
            type: 'message',
            from: user,
            clientMessageId: frame.clientMessageId,
            text: frame.text,
          }),
        );
        ws.send(JSON.stringify({ type: 'ack', ref: frame.ref }));
      };
      if (storage === undefined) forward();
      else {
        const { to = '', clientMessageId = '', text = '' } = frame;
        storage.keep({ from: user, to, clientMessageId, text }, forward);
      }
    });
  });
  return new Promise((resolve, reject) => {
    wss.once('error', reject);
    wss.once('listening', () =>
      resolve({
        port: (wss.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const ws of wss.clients) ws.terminate();
            wss.close(() => {
              storage?.close();
              done();
            });
          }),
      }),
    );
  });
}
