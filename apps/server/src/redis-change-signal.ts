import { changeListeners, type ChangeSignalSource } from '@tasks/db';
import { Redis } from 'ioredis';

/**
 * The change feed's wake-up over Redis pub/sub (CHANGE_SIGNAL=redis), for deployments that
 * already run Redis and would rather keep NOTIFY's commit lock off PostgreSQL. Publishing uses
 * one connection, listening another (a subscribed connection can do nothing else). After a
 * reconnection every stream is woken: messages sent meanwhile are gone, the changes are not.
 */
export function createRedisChangeSignal({
  url,
  channel,
  onError,
}: {
  url: string;
  channel: string;
  onError: (error: unknown) => void;
}): ChangeSignalSource {
  const options = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 };
  const publisher = new Redis(url, options);
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
  const listeners = changeListeners();
  let interrupted = false;
  for (const connection of [publisher, subscriber]) connection.on('error', onError);
  subscriber.on('message', (_channel: string, userId: string) => {
    listeners.emit(userId);
  });
  subscriber.on('close', () => {
    interrupted = true;
  });
  subscriber.on('ready', () => {
    if (interrupted) listeners.emit(undefined);
    interrupted = false;
  });
  subscriber.subscribe(channel).catch(onError);
  return {
    publish(userId) {
      publisher.publish(channel, userId).catch(onError);
    },
    subscribe: (listener) => listeners.add(listener),
    close() {
      publisher.disconnect();
      subscriber.disconnect();
      return Promise.resolve();
    },
  };
}
