import { isTrackedEnvelope } from '@trpc/server';

/** A subscription item made with `tracked(id, data)`: its id and data, for the REST door. */
export function isTrackedEvent(item: unknown): item is [string, unknown] {
  return isTrackedEnvelope(item);
}
