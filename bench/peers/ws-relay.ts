/**
 * The raw `ws` peer: the least a WebSocket chat relay can do. A client connects to `/?user=<id>`; a text frame
 * `{"type":"send","ref","clientMessageId","to","text"}` is parsed, forwarded to the recipient's socket as
 * `{"type":"message","from","clientMessageId","text"}` and acked to the sender as `{"type":"ack","ref"}`. No
 * authentication, validation, storage, receipts or rate limit: the floor a server with those is compared with.
 *
 * @module
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

/** A running relay. */
export interface Relay {
  readonly port: number;
  close(): Promise<void>;
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
 */
export function startWsRelay(port = 0): Promise<Relay> {
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
      if (frame.type !== 'send') return;
      sockets.get(frame.to ?? '')?.send(
        JSON.stringify({
          type: 'message',
          from: user,
          clientMessageId: frame.clientMessageId,
          text: frame.text,
        }),
      );
      ws.send(JSON.stringify({ type: 'ack', ref: frame.ref }));
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
            wss.close(() => done());
          }),
      }),
    );
  });
}
