/**
 * The Socket.IO peer: a minimal chat relay as a Socket.IO user would write it. A client connects with
 * `auth: { user }` (WebSocket transport); `emit('send', { to, clientMessageId, text }, ack)` forwards
 * `emit('message', { from, clientMessageId, text })` to the recipient's socket and calls the sender's ack with
 * `{ ok: true }`. Socket.IO parses and frames the JSON; no validation, storage or receipts.
 *
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import type { Socket } from 'socket.io';
import type { Relay } from './ws-relay';

interface SendPayload {
  readonly to?: string;
  readonly clientMessageId?: string;
  readonly text?: string;
}

/**
 * Starts the relay on 127.0.0.1.
 *
 * @param port - the port (0 picks a free one)
 */
export function startSocketIoRelay(port = 0): Promise<Relay> {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
  const sockets = new Map<string, Socket>();
  io.on('connection', (socket) => {
    const user = String((socket.handshake.auth as { user?: unknown }).user ?? '');
    sockets.set(user, socket);
    socket.on('disconnect', () => {
      if (sockets.get(user) === socket) sockets.delete(user);
    });
    socket.on('send', (payload: SendPayload, ack?: (answer: unknown) => void) => {
      sockets
        .get(payload.to ?? '')
        ?.emit('message', { from: user, clientMessageId: payload.clientMessageId, text: payload.text });
      ack?.({ ok: true });
    });
  });
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () =>
      resolve({
        port: (http.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            void io.close(() => done());
          }),
      }),
    );
  });
}
