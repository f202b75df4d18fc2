/** The fault-injecting proxy the database fault tests rely on, against a plain echo server. */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

let echo: Server;
let proxy: TcpProxy;

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const address = echo.address();
  proxy = await startTcpProxy(
    `tcp://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
  );
});
afterAll(async () => {
  await proxy.close();
  await new Promise((resolve) => echo.close(resolve));
});

interface Client {
  socket: Socket;
  /** Everything received and not yet taken, once `bytes` arrived or `withinMs` passed. */
  take(bytes: number, withinMs: number): Promise<string>;
}

async function open(): Promise<Client> {
  const socket = connect(proxy.port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return {
    socket,
    async take(bytes, withinMs) {
      for (const deadline = Date.now() + withinMs; text.length < bytes && Date.now() < deadline;)
        await sleep(10);
      const taken = text;
      text = '';
      return taken;
    },
  };
}

describe('tcp proxy', () => {
  it('forwards both ways, holds everything back while stalled, and delivers it on restore', async () => {
    const early = await open();
    early.socket.write('before');
    expect(await early.take(6, 2_000)).toBe('before');

    proxy.stall();
    early.socket.write('during');
    expect(await early.take(6, 300)).toBe('');
    // New connections are accepted but just as silent.
    const late = await open();
    late.socket.write('late');
    expect(await late.take(4, 300)).toBe('');

    await proxy.restore();
    expect(await early.take(6, 2_000)).toBe('during');
    expect(await late.take(4, 2_000)).toBe('late');
    expect(proxy.open).toBe(2);
    early.socket.destroy();
    late.socket.destroy();
  });

  it('closes every connection and refuses new ones while cut, and listens again on restore', async () => {
    const { socket } = await open();
    const closed = once(socket, 'close');
    await proxy.cut();
    await closed;
    expect(proxy.open).toBe(0);
    await expect(open()).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await proxy.restore();
    const again = await open();
    again.socket.write('again');
    expect(await again.take(5, 2_000)).toBe('again');
    again.socket.destroy();
  });
});
