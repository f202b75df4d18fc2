import type { Server } from 'node:http';

/**
 * Bounds what idle clients can hold. Past `maxConnections`, new connections are closed as they
 * arrive. A connection must send its first request head within `headersTimeoutMs`: Node's own
 * `headersTimeout` only starts counting at the first byte, so a socket that never sends one
 * would otherwise be held until the kernel gives up. Between requests, kept-alive sockets are
 * governed by `keepAliveTimeout` as before.
 */
export function boundConnections(
  server: Server,
  { maxConnections, headersTimeoutMs }: { maxConnections: number; headersTimeoutMs: number },
): void {
  server.maxConnections = maxConnections;
  server.headersTimeout = headersTimeoutMs;
  server.on('connection', (socket) => {
    // Node destroys a socket whose timeout fires while no request is in progress.
    socket.setTimeout(headersTimeoutMs);
  });
  server.on('request', (request) => {
    // From the first request on, Node's request and keep-alive timeouts take over.
    request.socket.setTimeout(0);
  });
}
