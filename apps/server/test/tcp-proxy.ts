/**
 * A TCP proxy to put between the API and PostgreSQL, for injecting network faults: `cut()` is a
 * database that went away (connections closed, new ones refused), `stall()` a network that went
 * silent (connections stay open, nothing gets through), `restore()` the network healing.
 */
import { createServer, Socket, type Server } from 'node:net';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { afterAll, beforeAll } from 'vitest';

export interface TcpProxy {
  /** Where clients connect instead of the target. */
  port: number;
  /** The target's URL with its host and port swapped for the proxy's. */
  url: string;
  /** Closes every connection and stops listening, so new connections are refused. */
  cut(): Promise<void>;
  /**
   * Keeps every connection, and accepts new ones, but forwards nothing in either direction until
   * `restore()`. Bytes wait in socket buffers as they would behind a partition, and flow again
   * once it heals (TCP retransmits them), so a stall is a delay, not a loss.
   */
  stall(): void;
  /** Listens again after a cut; forwards what waited during a stall. */
  restore(): Promise<void>;
  /** Connections accepted since the proxy started. */
  readonly accepted: number;
  /** Connections open right now. */
  readonly open: number;
  close(): Promise<void>;
}

/** A proxy to the host and port of `targetUrl` (e.g. `postgresql://user@127.0.0.1:5432/db`). */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  let accepted = 0;
  let listener: Server | undefined;

  /** Copies `from` to `to` with backpressure, holding everything back while stalled. */
  function forward(from: Socket, to: Socket) {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!stalled) from.resume();
    });
  }

  function accept(client: Socket) {
    accepted += 1;
    const upstream = new Socket();
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.on('error', end);
      socket.on('close', end);
      if (stalled) socket.pause();
    }
    forward(client, upstream);
    forward(upstream, client);
    upstream.connect(Number(target.port) || 5432, target.hostname);
  }

  async function listen(port: number): Promise<number> {
    const server = createServer(accept);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        resolve();
      });
    });
    listener = server;
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  async function stopListening() {
    const server = listener;
    listener = undefined;
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  const port = await listen(0);
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    port,
    url: url.toString(),
    cut: stopListening,
    stall() {
      stalled = true;
      for (const pair of pairs) for (const socket of pair) socket.pause();
    },
    async restore() {
      stalled = false;
      for (const pair of pairs) for (const socket of pair) socket.resume();
      if (!listener) await listen(port);
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    close: stopListening,
  };
}

export interface ProxiedDatabase {
  database: TestDatabase;
  /** Connect through `proxy.url` to reach `database` with faults. */
  proxy: TcpProxy;
}

/**
 * Gives the calling describe block a fresh test database with a proxy in front of it, both
 * ready from its first test on and gone after its last.
 */
export function useProxiedTestDatabase(): ProxiedDatabase {
  const context: Partial<ProxiedDatabase> = {};
  beforeAll(async () => {
    context.database = await createTestDatabase();
    context.proxy = await startTcpProxy(context.database.url);
  });
  afterAll(async () => {
    await context.proxy?.close();
    await context.database?.drop();
  });
  return {
    get database() {
      if (!context.database) throw new Error('use it in a test, after beforeAll');
      return context.database;
    },
    get proxy() {
      if (!context.proxy) throw new Error('use it in a test, after beforeAll');
      return context.proxy;
    },
  };
}
